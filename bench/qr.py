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
import time
from pathlib import Path

import cv2
import numpy as np

from coding import building_codes, qr
from coding.plates import plate_png

BASE_URL = "https://grid.example.cn"


def _background(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    base = rng.uniform(60, 200)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    gradient = rng.uniform(-40, 40) * xx / w + rng.uniform(-40, 40) * yy / h
    texture = cv2.GaussianBlur(rng.normal(0, 25, (h, w)).astype(np.float32), (0, 0), 3)
    return np.clip(base + gradient + texture, 0, 255).astype(np.float32)


def _tilted_quad(rng: np.random.Generator, w: float, h: float, tilt: float) -> np.ndarray:
    """Corners (tl, tr, br, bl) of a w x h plate seen with perspective ``tilt``."""
    quad = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    side = rng.integers(4)  # which edge is far from the camera
    if side in (0, 2):  # top or bottom far: shorten that edge, squash vertically
        far = (0, 1) if side == 0 else (3, 2)
        quad[far[0], 0] += tilt * w / 2
        quad[far[1], 0] -= tilt * w / 2
        quad[:, 1] *= 1 - tilt / 2
    else:  # left or right far
        far = (0, 3) if side == 3 else (1, 2)
        quad[far[0], 1] += tilt * h / 2
        quad[far[1], 1] -= tilt * h / 2
        quad[:, 0] *= 1 - tilt / 2
    quad += rng.normal(0, 0.01 * max(w, h), quad.shape).astype(np.float32)
    angle = np.deg2rad(rng.uniform(-25, 25))
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    centre = quad.mean(axis=0)
    return ((quad - centre) @ rot.T).astype(np.float32)


def make_photo(rng: np.random.Generator, code: str) -> tuple[bytes, dict[str, float]]:
    """One synthetic JPEG photo of the plate of ``code`` and its parameters."""
    long_side = int(rng.integers(300, 1201))
    aspect = rng.uniform(0.75, 1.0)
    w, h = (
        (long_side, int(long_side * aspect))
        if rng.random() < 0.5
        else (int(long_side * aspect), long_side)
    )
    tilt = float(rng.uniform(0, 0.35))
    sigma = float(rng.uniform(0, 2.0))
    noise = float(rng.uniform(2, 8))
    fill = float(rng.uniform(0.55, 0.85))  # plate width / shorter photo side
    plate_w = max(200, int(fill * min(w, h)))
    plate = cv2.imdecode(
        np.frombuffer(plate_png({"code": code}, width=plate_w, base_url=BASE_URL), np.uint8),
        cv2.IMREAD_GRAYSCALE,
    )
    ph, pw = plate.shape
    scale = fill * min(w, h) / pw
    quad = _tilted_quad(rng, pw * scale, ph * scale, tilt)
    quad += np.array([w / 2, h / 2], dtype=np.float32) + rng.normal(0, 0.03 * min(w, h), 2).astype(
        np.float32
    )
    src = np.array([[0, 0], [pw, 0], [pw, ph], [0, ph]], dtype=np.float32)
    m = cv2.getPerspectiveTransform(src, quad)
    photo = _background(rng, h, w)
    warped = cv2.warpPerspective(plate.astype(np.float32), m, (w, h), flags=cv2.INTER_AREA)
    mask = cv2.warpPerspective(np.ones_like(plate, np.float32), m, (w, h), flags=cv2.INTER_LINEAR)
    light = rng.uniform(0.75, 1.0)
    photo = photo * (1 - mask) + warped * light * mask
    if sigma > 0.05:
        photo = cv2.GaussianBlur(photo, (0, 0), sigma)
    photo += rng.normal(0, noise, photo.shape)
    img = np.clip(photo, 0, 255).astype(np.uint8)
    color = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    ok, jpg = cv2.imencode(".jpg", color, [cv2.IMWRITE_JPEG_QUALITY, 60])
    assert ok
    params = {"size": long_side, "tilt": tilt, "sigma": sigma, "noise": noise, "fill": fill}
    return jpg.tobytes(), params


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
