"""Word pools for the synthetic names of the sample town.

The words are common place-name morphemes of the Pearl River Delta; the
combinations the generator makes (roads, communities, estates, schools,
markets) are synthetic and name no real place.
"""

from __future__ import annotations

import numpy as np

_WORDS = (
    "和平新华富民建设兴华龙腾凤凰华南金湖银河振兴丰和嘉园翠竹百合桂花松柏清林禾花石井"
    "上水下围新屋老围大塘岗头水径南岭木棉荔枝锦绣阳光丹竹长龙新生五联龙西爱联同乐盛平"
    "南联回龙嶂背保安西坑安良大康荷坳六约四联红棉松元茂盛怡景碧湖东升西湖沙塘鹤湖榕树"
    "福星吉祥青年前进胜利团结人民光明友谊文化育才启航星河海燕天鹅晨光朝阳明珠紫薇玉兰"
    "丽景香林梅林竹园桃源杏林枫林柳岸芙蓉莲塘荷花山水泉水清溪碧水翠峰龙山凤山鹏程万科"
    "华城宝安坪洲新塘横岭西环东环北环南环中心龙平龙城黄阁清平中兴永安长安永和太平华侨"
    "锦华嘉华德兴德政瑞祥宏达恒丰鸿福金龙金凤金花银湖铁岗石龙石头岭下田心围仔坑尾埔厦"
    "布心布澜宝岗雪岗岗贝坂雪禾坪甘坑吉厦良白坪西坪东六联"
)
WORDS: tuple[str, ...] = tuple(dict.fromkeys(_WORDS[i : i + 2] for i in range(0, len(_WORDS), 2)))
SURNAMES: tuple[str, ...] = tuple("王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许邓冯韩曹")
ROAD_SUFFIXES: tuple[str, ...] = ("路", "街", "一路", "二路", "三路", "巷", "大街", "东路", "西路")
ARTERIAL_SUFFIXES: tuple[str, ...] = ("大道", "路")
ESTATE_SUFFIXES: tuple[str, ...] = ("花园", "华庭", "雅苑", "新村", "豪园", "家园")
SCHOOL_SUFFIXES: tuple[str, ...] = ("小学", "中学", "实验学校", "幼儿园")


def pick_words(rng: np.random.Generator, n: int) -> list[str]:
    """Draw ``n`` distinct words (with a numeric tail once the pool runs out).

    Examples
    --------
    >>> words = pick_words(np.random.default_rng(0), 3)
    >>> len(set(words)) == 3
    True
    """
    order = rng.permutation(len(WORDS))
    out = [WORDS[i] for i in order[:n]]
    k = 0
    while len(out) < n:
        out.append(WORDS[order[k % len(WORDS)]] + WORDS[order[(k * 7 + 3) % len(WORDS)]])
        k += 1
    return _dedupe(out)


def _dedupe(words: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for w in words:
        seen[w] = seen.get(w, 0) + 1
        out.append(w if seen[w] == 1 else f"{w}{seen[w]}")
    return out
