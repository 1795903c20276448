"""QR codes of building plates: payload URLs, SVG/PNG images, and reading photos.

The payload of a plate is the URL ``{base_url}/b/{building_code}`` so that any
phone camera opens the building's page. :func:`read` finds and decodes a QR
code in a photo with OpenCV: ``cv2.QRCodeDetectorAruco`` first (robust to
strong perspective), then the classic ``cv2.QRCodeDetector``, each on a few
scales of the image (small photos also enlarged twice), stopping at the first
success; when the optional package ``zxing-cpp`` is installed it is the last
resort (also on an enlarged, sharpened copy of small photos). On the
benchmark ``bench/qr.py`` (200 synthetic photos, tilt <= 0.35, blur sigma <= 2,
JPEG 60, 300-1200 px) OpenCV alone reads 94 %, with the zxing-cpp fallback 97 %.
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Iterator
from typing import Literal
from urllib.parse import urlsplit

import cv2
import numpy as np
import numpy.typing as npt
import segno

from coding import building_codes
from gis_core.errors import InvalidCode, InvalidInput, NotAnImage

ErrorLevel = Literal["M", "Q", "m", "q"]

MAX_PIXELS = 40_000_000
"""Images with more pixels are refused (decompression bombs)."""

MAX_WORK_SIDE = 1600
"""Photos with a longer side are read downscaled to ``DOWNSCALE_SIDES[0]`` px first, then
at up to twice this size."""
DOWNSCALE_SIDES = (1000, 640)
"""Longest sides (px) of the downscaled copies tried after the full-size image."""
UPSCALE_BELOW = 900
"""Photos whose longer side is below this are also read enlarged twice."""

_CODE_IN_PATH = re.compile(r"/b/([0-9A-Za-z*]{18}|[0-9A-Za-z*]{26})/?$")


# ----------------------------------------------------------------------------- payloads


def _check_base_url(base_url: str) -> str:
    if not isinstance(base_url, str):
        raise InvalidInput(f"base_url must be a string, got {type(base_url).__name__}")
    parts = urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise InvalidInput(
            f"base_url must be an http(s) URL without query or fragment, got {base_url!r}"
        )
    return base_url.strip().rstrip("/")


def plate_url(base_url: str, building_code: str) -> str:
    """Return the QR payload of a building (or room) plate.

    Parameters
    ----------
    base_url
        The public base URL of the server, ``http`` or ``https``.
    building_code
        A valid building or room code (checked, normalised to upper case).

    Returns
    -------
    str
        ``{base_url}/b/{code}``

    Examples
    --------
    >>> plate_url("https://grid.example.cn/", "44030700300100012b")
    'https://grid.example.cn/b/44030700300100012B'
    """
    base = _check_base_url(base_url)
    return f"{base}/b/{building_codes.validate(building_code)}"


def _same_base(url: str, base_url: str) -> bool:
    got, want = urlsplit(url), urlsplit(_check_base_url(base_url))
    return (
        got.scheme.lower() == want.scheme.lower()
        and got.netloc.lower() == want.netloc.lower()
        and got.path.startswith(want.path.rstrip("/") + "/b/")
    )


def parse_plate_url(text: str, base_url: str | None = None) -> str | None:
    """Return the building code in a scanned QR payload, or ``None`` if it is not a plate.

    Parameters
    ----------
    text
        The decoded QR text: a plate URL ``.../b/{code}`` or a bare code.
    base_url
        When given, a URL must start with this base (scheme and host compared
        case-insensitively); plates of other servers give ``None``.

    Returns
    -------
    str or None
        The normalised, check-character-valid building or room code.

    Examples
    --------
    >>> parse_plate_url("https://grid.example.cn/b/44030700300100012B")
    '44030700300100012B'
    >>> parse_plate_url("https://other.example.com/b/44030700300100012B",
    ...                 base_url="https://grid.example.cn") is None
    True
    >>> parse_plate_url("44030700300100012C") is None  # wrong check character
    True
    """
    if not isinstance(text, str):
        return None
    text = text.strip()
    if building_codes.is_valid(text):
        return building_codes.normalize(text)
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    if base_url is not None and not _same_base(text, base_url):
        return None
    m = _CODE_IN_PATH.search(parts.path)
    if m is None or not building_codes.is_valid(m.group(1)):
        return None
    return building_codes.normalize(m.group(1))


# ----------------------------------------------------------------------------- making


def _qr(data: str, error: ErrorLevel) -> segno.QRCode:
    if not isinstance(data, str) or not data:
        raise InvalidInput("data must be a non-empty string")
    if error.upper() not in ("M", "Q"):
        raise InvalidInput(f"error must be 'M' or 'Q', got {error!r}")
    return segno.make(data, error=error.lower(), micro=False, boost_error=False)


def qr_matrix(data: str, error: ErrorLevel = "M") -> npt.NDArray[np.bool_]:
    """Return the module matrix of a QR code (``True`` = dark), without quiet zone.

    Examples
    --------
    >>> qr_matrix("hello").shape
    (21, 21)
    """
    return np.array(_qr(data, error).matrix, dtype=bool)


def make_svg(data: str, scale: float = 4, border: int = 4, error: ErrorLevel = "M") -> bytes:
    """Return an SVG image of a QR code of ``data``.

    Parameters
    ----------
    data
        The payload, usually :func:`plate_url`.
    scale
        Size of one module in SVG user units.
    border
        Quiet zone in modules (4 is the standard's minimum).
    error
        Error correction level ``"M"`` (15 %) or ``"Q"`` (25 %).

    Examples
    --------
    >>> make_svg("https://grid.example.cn/b/44030700300100012B")[:5]
    b'<?xml'
    """
    if not isinstance(scale, int | float) or scale <= 0:
        raise InvalidInput(f"scale must be a positive number, got {scale!r}")
    buf = io.BytesIO()
    _qr(data, error).save(buf, kind="svg", scale=scale, border=border, xmldecl=True)
    return buf.getvalue()


def make_png(data: str, scale: int = 8, border: int = 4, error: ErrorLevel = "M") -> bytes:
    """Return a PNG image of a QR code of ``data``.

    Parameters
    ----------
    data
        The payload.
    scale
        Pixels per module, 1-100.
    border
        Quiet zone in modules.
    error
        ``"M"`` or ``"Q"``.

    Examples
    --------
    >>> make_png("hello", scale=2)[1:4]
    b'PNG'
    """
    if isinstance(scale, bool) or not isinstance(scale, int) or not 1 <= scale <= 100:
        raise InvalidInput(f"scale must be an integer in 1-100, got {scale!r}")
    buf = io.BytesIO()
    _qr(data, error).save(buf, kind="png", scale=scale, border=border)
    return buf.getvalue()


# ----------------------------------------------------------------------------- reading


def load_gray(image_bytes: bytes) -> npt.NDArray[np.uint8]:
    """Decode JPEG/PNG/WebP (or anything OpenCV or Pillow reads) bytes to a grey image.

    Raises
    ------
    NotAnImage
        If the bytes are not a decodable image or exceed :data:`MAX_PIXELS`.
    """
    if not isinstance(image_bytes, bytes | bytearray | memoryview) or len(image_bytes) == 0:
        raise NotAnImage("image_bytes must be the non-empty bytes of a JPEG, PNG or WebP image")
    _check_header(bytes(image_bytes))  # a decompression bomb is refused before decoding
    buf = np.frombuffer(image_bytes, dtype=np.uint8)
    decoded = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
    img = _load_with_pillow(bytes(image_bytes)) if decoded is None else _u8(decoded)
    if img.size > MAX_PIXELS:
        raise NotAnImage(f"the image has {img.size} pixels; at most {MAX_PIXELS} are read")
    return img


def _check_header(data: bytes) -> None:
    """Refuse an image whose header declares more than :data:`MAX_PIXELS` pixels."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                pixels = im.width * im.height
    except Image.DecompressionBombError:
        pixels = MAX_PIXELS + 1
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return  # not a header Pillow reads: OpenCV may still decode it
    if pixels > MAX_PIXELS:
        raise NotAnImage(f"the image has more than {MAX_PIXELS} pixels; it is not decoded")


def _u8(img: npt.NDArray[np.generic]) -> npt.NDArray[np.uint8]:
    return np.asarray(img, dtype=np.uint8)


def _load_with_pillow(data: bytes) -> npt.NDArray[np.uint8]:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.width * im.height > MAX_PIXELS:
                raise NotAnImage(f"the image has more than {MAX_PIXELS} pixels")
            return np.asarray(im.convert("L"), dtype=np.uint8)
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise NotAnImage("the bytes are not a JPEG, PNG or WebP image") from exc


def _resized(gray: npt.NDArray[np.uint8], side: int) -> npt.NDArray[np.uint8]:
    f = side / max(gray.shape)
    interp = cv2.INTER_AREA if f < 1 else cv2.INTER_CUBIC
    return _u8(cv2.resize(gray, None, fx=f, fy=f, interpolation=interp))


def _candidates(gray: npt.NDArray[np.uint8]) -> Iterator[npt.NDArray[np.uint8]]:
    """The image at the working scales, most promising first."""
    side = max(gray.shape)
    if side <= MAX_WORK_SIDE:
        yield gray
        if side < UPSCALE_BELOW:  # small photos: modules of 2-4 px read better enlarged
            yield _resized(gray, 2 * side)
    else:  # big phone photos: fast pass small, then nearly full detail
        yield _resized(gray, DOWNSCALE_SIDES[0])
        yield gray if side <= 2 * MAX_WORK_SIDE else _resized(gray, 2 * MAX_WORK_SIDE)
    if side > 1.25 * DOWNSCALE_SIDES[1]:
        yield _resized(gray, DOWNSCALE_SIDES[1])


_DETECTORS: dict[str, cv2.QRCodeDetector | cv2.QRCodeDetectorAruco] = {}


def _detector(kind: str) -> cv2.QRCodeDetector | cv2.QRCodeDetectorAruco:
    if kind not in _DETECTORS:
        _DETECTORS[kind] = cv2.QRCodeDetectorAruco() if kind == "aruco" else cv2.QRCodeDetector()
    return _DETECTORS[kind]


def _try_decode(img: npt.NDArray[np.uint8]) -> str | None:
    for kind in ("aruco", "classic"):
        try:
            text, _, _ = _detector(kind).detectAndDecode(img)
        except cv2.error:
            continue
        if text:
            return str(text)
    return None


def read(image_bytes: bytes) -> str | None:
    """Find and decode a QR code in a photo.

    Tries OpenCV's ``QRCodeDetectorAruco`` and then ``QRCodeDetector`` on the
    image at a few scales (as it is, enlarged twice when smaller than 900 px;
    photos larger than 1600 px at 1000 px and then at up to 3200 px; finally
    at 640 px), then with zxing-cpp if installed.

    Parameters
    ----------
    image_bytes
        A JPEG, PNG or WebP file's bytes.

    Returns
    -------
    str or None
        The decoded text, or ``None`` when no QR code could be read.

    Raises
    ------
    NotAnImage
        If the bytes are not a decodable image.

    Examples
    --------
    >>> read(make_png("https://grid.example.cn/b/44030700300100012B", scale=4))
    'https://grid.example.cn/b/44030700300100012B'
    """
    gray = load_gray(image_bytes)
    for img in _candidates(gray):
        text = _try_decode(img)
        if text:
            return text
    return _try_zxing(gray)


def _sharpened(
    gray: npt.NDArray[np.uint8], sigma: float = 2.0, amount: float = 2.0
) -> npt.NDArray[np.uint8]:
    img = gray.astype(np.float32)
    blurred = cv2.GaussianBlur(img, (0, 0), sigma)
    return _u8(np.clip(img + amount * (img - blurred), 0, 255))


def _try_zxing(gray: npt.NDArray[np.uint8]) -> str | None:
    """Last resort: zxing-cpp (when the optional package is installed).

    Small photos are also tried enlarged twice, and enlarged and sharpened
    (unsharp mask), which recovers some blurred photos with 2-4 px modules.
    """
    try:
        import zxingcpp
    except ImportError:
        return None
    images = [gray]
    if max(gray.shape) < UPSCALE_BELOW:
        up = _resized(gray, 2 * max(gray.shape))
        images += [up, _sharpened(up)]
    for img in images:
        for barcode in zxingcpp.read_barcodes(
            img, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
        ):
            if barcode.valid and barcode.text:
                return str(barcode.text)
    return None


def read_building_code(image_bytes: bytes, base_url: str | None = None) -> str | None:
    """Read a plate photo and return its building code (``None``: no plate QR found).

    Raises
    ------
    NotAnImage
        If the bytes are not an image.
    InvalidCode
        If a QR code was read but is not a building plate of ``base_url``
        (``code`` is ``"not_a_building_plate"``).
    """
    text = read(image_bytes)
    if text is None:
        return None
    code = parse_plate_url(text, base_url)
    if code is None:
        raise InvalidCode(
            "the QR code is not a building plate of this server", code="not_a_building_plate"
        )
    return code
