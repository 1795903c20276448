"""The built-in notification texts: what each kind says until an admin sets its own.

The migrations seed ``notify_templates`` with these texts (0017, 0018, 0025,
0026 as written then; a test checks the seeded rows against this table), and
:func:`api.notify.texts.reset_template` puts a kind's default back to them.
"""

from __future__ import annotations

#: (kind, language) -> (subject, body) of each kind's default (no category)
BUILT_IN: dict[tuple[str, str], tuple[str, str]] = {
    ("dispatched", "zh"): ("新派遣案件 #$id：$category",
                           "案件 #$id（$category）已派遣至贵部门，"
                           "地址：$address，处置时限：$due_at。"),
    ("dispatched", "en"): ("New case #$id: $category",
                           "Case #$id ($category) was dispatched to your department. "
                           "Address: $address. Due: $due_at."),
    ("overdue", "zh"): ("案件 #$id 已超期，升级至$level",
                        "案件 #$id（$category）已超过处置时限 $due_at，"
                        "已升级至$level。地址：$address。"),
    ("overdue", "en"): ("Case #$id is overdue: escalated to $level",
                        "Case #$id ($category) passed its due time $due_at and was escalated "
                        "to $level. Address: $address."),
    ("escalated", "zh"): ("案件 #$id 已升级至$level",
                          "案件 #$id（$category）已升级至$level，请关注。地址：$address。"),
    ("escalated", "en"): ("Case #$id escalated to $level",
                          "Case #$id ($category) was escalated to $level. Address: $address."),
    ("duplicate", "zh"): ("您反映的问题已合并处理",
                          "您反映的问题（$category）与已受理的案件合并处理，进度请查看：$track_url"),
    ("duplicate", "en"): ("Your report was merged with an open case",
                          "Your report ($category) was linked to a case already being handled. "
                          "Follow it at $track_url"),
    ("closed", "zh"): ("您反映的问题已办结",
                       "您反映的问题（$category）已办结，欢迎评价：$track_url"),
    ("closed", "en"): ("Your report was closed",
                       "Your report ($category) was closed. Tell us how we did: $track_url"),
    ("visit_due", "zh"): ("走访提醒：$subject",
                          "$subject 的走访应于 $due_at 前完成。地址：$address。"),
    ("visit_due", "en"): ("Visit due: $subject",
                          "The visit to $subject is due by $due_at. Address: $address."),
    ("anomaly", "zh"): ("网格异动预警：$area", "$area 的网格 $grid 出现异动：$count 起案件"
                        "（通常约 $expected 起），时段 $window。请关注。"),
    ("anomaly", "en"): ("Anomaly alert: $area", "Grid $grid in $area shows an anomaly: $count "
                        "cases (about $expected expected) in $window."),
    ("subtask", "zh"): ("协同案件 #$id：$category",
                        "案件 #$id（$category）需贵部门协同处置，"
                        "地址：$address，处置时限：$due_at。"),
    ("subtask", "en"): ("Joint case #$id: $category",
                        "Your department is asked to take part in case #$id ($category). "
                        "Address: $address. Due: $due_at."),
    ("forwarded", "zh"): ("您反映的问题已转交$neighbour",
                          "该位置属于$neighbour管辖，您反映的问题（$category）已转交对方处理，"
                          "对方受理编号：$request_id。对方系统未提供查询链接，咨询进度时请向对方提供该编号。"),
    ("forwarded", "en"): ("Your report was passed to $neighbour",
                          "This place is in the territory of $neighbour; your report ($category) "
                          "was sent to them as request $request_id. Their system gives no "
                          "tracking link: quote this number when you ask them about it."),
    ("forwarded_link", "zh"): ("您反映的问题已转交$neighbour",
                               "该位置属于$neighbour管辖，您反映的问题（$category）已转交对方处理，"
                               "对方受理编号：$request_id，进度请查看：$their_track_url"),
    ("forwarded_link", "en"): ("Your report was passed to $neighbour",
                               "This place is in the territory of $neighbour; your report "
                               "($category) was sent to them as request $request_id. Follow "
                               "it on their tracking page: $their_track_url"),
}
