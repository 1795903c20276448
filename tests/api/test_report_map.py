"""The map of the XLSX report: a PNG picture on the ``分布图`` sheet that decodes and shows
the street's grids and the period's events in the state colours, north up; an area with
nothing to draw says so instead."""

from __future__ import annotations

import io

import numpy as np
import openpyxl
import shapely
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy.orm import Session

from api.reports.drawings import EVENT_STATES, GRID_FILL
from api.reports.figures import ReportMap
from api.reports.map_image import HEIGHT, WIDTH, map_png, rgb
from tests.api.events_support import bearer, token_for

STREET = "440307003"  # 平湖街道 of the sample town (its events end on 2026-11-01)


def _pixels(png: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size == (WIDTH, HEIGHT)
    return np.asarray(image.convert("RGB"))


def _share(pixels: np.ndarray, color: tuple[int, int, int]) -> float:
    return float(np.all(pixels == color, axis=-1).mean())


def test_the_xlsx_report_has_the_map_as_a_picture(client: TestClient, session: Session) -> None:
    admin = bearer(token_for(session, "admin", "map-admin"))
    r = client.get("/api/v1/reports", headers=admin,
                   params={"street": STREET, "month": "2026-10", "format": "xlsx"})
    assert r.status_code == 200, r.text
    sheet = openpyxl.load_workbook(io.BytesIO(r.content))["分布图"]
    assert len(sheet._images) == 1
    pixels = _pixels(sheet._images[0]._data())
    assert _share(pixels, rgb(GRID_FILL)) > 0.2  # the street's grids fill much of it
    closed = rgb(EVENT_STATES["closed"][0])
    assert _share(pixels, closed) > 0  # October's closed cases are dots on it
    legend = [row[1] for row in sheet.iter_rows(min_row=2, max_row=5, values_only=True)]
    assert legend == [word for _, word in EVENT_STATES.values()]


def test_north_is_up_and_east_is_right() -> None:
    square = shapely.box(114.0, 22.0, 114.1, 22.1)
    png = map_png(ReportMap(outline=square, parts=[], grids=[square],
                            events=[(114.09, 22.09, "overdue")]))
    assert png is not None
    pixels = _pixels(png)
    red = np.argwhere(np.all(pixels == rgb(EVENT_STATES["overdue"][0]), axis=-1))
    assert len(red) > 0
    rows, cols = red[:, 0], red[:, 1]
    assert rows.max() < HEIGHT / 4 and cols.min() > WIDTH / 2  # the north-east corner


def test_nothing_to_draw_gives_no_picture() -> None:
    assert map_png(ReportMap(outline=None, parts=[], grids=[], events=[])) is None
