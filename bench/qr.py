"""Benchmark: reading building plate QR codes from synthetic phone photos.

Each photo is a rendered plate (coding.plates.plate_png) on a textured
background, warped with a perspective tilt up to 0.35 (the far edge of the
plate is shortened by ``tilt`` of its length and the plate foreshortened by
half of that along the tilt axis, around a random side), rotated in-plane by
up to 25 degrees, blurred with a Gaussian of sigma up to 2, given Gaussian
noise, and saved as JPEG at quality 60; the longest side is 300-1200 px.

Prints the decode rate and the median / p90 time of ``coding.qr.read``, and
the same for an anchor measured in the same run: one pass of the classic
``cv2.QRCodeDetector`` on the photo as it is. Goal: >= 95 % decoded, median
under 100 ms.

Run:  .venv/bin/python bench/qr.py [--n 200] [--seed 7] [--save DIR]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from coding import building_codes, qr  # noqa: E402
from testkit.photos import BASE_URL, make_photo  # noqa: E402


def _anchor(data: bytes) -> str | None:
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    text, _, _ = cv2.QRCodeDetector().detectAndDecode(img)
    return text or None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="number of photos (default 200)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--save", type=Path, default=None, help="write failed photos here")
    parser.add_argument("--no-zxing", action="store_true", help="OpenCV only (no zxing-cpp)")
    args = parser.parse_args()
    if args.no_zxing:
        qr._try_zxing = lambda gray: None  # type: ignore[assignment]
    else:
        try:
            import zxingcpp  # noqa: F401

            print("zxing-cpp fallback: installed")
        except ImportError:
            print("zxing-cpp fallback: not installed (OpenCV only)")
    rng = np.random.default_rng(args.seed)
    photos = []
    for i in range(args.n):
        code = building_codes.make_building_code("440307003001", i + 1)
        data, params = make_photo(rng, code)
        photos.append((qr.plate_url(BASE_URL, code), data, params))

    results = {}
    for name, fn in (("anchor cv2.QRCodeDetector x1", _anchor), ("coding.qr.read", qr.read)):
        times, ok, failed = [], 0, []
        for url, data, params in photos:
            t0 = time.perf_counter()
            text = fn(data)
            times.append(time.perf_counter() - t0)
            if text == url:
                ok += 1
            else:
                failed.append((params, data))
        results[name] = (ok / len(photos), statistics.median(times), np.percentile(times, 90))
        print(
            f"{name:32s} decoded {ok}/{len(photos)} = {ok / len(photos):6.1%}   "
            f"median {statistics.median(times) * 1000:6.1f} ms   "
            f"p90 {np.percentile(times, 90) * 1000:6.1f} ms"
        )
        if name == "coding.qr.read":
            for params, data in failed:
                print("   failed:", {k: round(v, 2) for k, v in params.items()})
                if args.save:
                    args.save.mkdir(parents=True, exist_ok=True)
                    stem = "_".join(f"{k}{v:.2f}" for k, v in params.items())
                    (args.save / f"{stem}.jpg").write_bytes(data)
    (a_rate, a_med, _), (r_rate, r_med, _) = results.values()
    print(
        f"ratio read/anchor: decode rate x{r_rate / max(a_rate, 1e-9):.2f}, "
        f"median time x{r_med / a_med:.2f}"
    )
    print(
        f"goal: >= 95 % decoded -> {'met' if r_rate >= 0.95 else 'NOT met'}; "
        f"median < 100 ms -> {'met' if r_med < 0.1 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
