"""Synthetic phone photos of QR plates (tilt, blur, noise), for the QR tests and bench."""

from __future__ import annotations

import cv2
import numpy as np

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
    if plate is None:
        raise RuntimeError("the plate PNG did not decode")
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
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    params = {"size": long_side, "tilt": tilt, "sigma": sigma, "noise": noise, "fill": fill}
    return jpg.tobytes(), params
