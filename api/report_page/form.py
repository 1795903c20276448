"""The report form of the residents' phone pages, in one place for ``/report`` and ``/b/{code}``.

The form is plain HTML; ``/static/js/report/form.js`` brings it to life: photos taken
with the camera (thumbnails, removable), the phone's position by geolocation (or the
plate's building), a searchable category picker over ``GET /api/v1/categories``, and
a multipart post to ``POST /api/v1/events`` whose tracking link is shown on success.
Only same-origin assets, no inline script or style (the Content-Security-Policy).
"""

from __future__ import annotations

from html import escape

#: the stylesheet and the script of the form, served from ``/static``
FORM_ASSETS = ('<link rel="stylesheet" href="/static/report.css">',
               '<script type="module" src="/static/js/report/form.js"></script>')

_FORM = """<form id="report" class="report-form" data-building="{building}"
  data-max-photos="{max_photos}" novalidate>
<label for="category-search" data-w="category">问题类型</label>
<div class="picker">
<input id="category-search" type="search" role="combobox" autocomplete="off"
  aria-autocomplete="list" aria-expanded="false" aria-controls="category-list"
  data-w-placeholder="categorySearch" placeholder="输入名称或编码搜索">
<input id="category" name="category" type="hidden">
<ul id="category-list" role="listbox" hidden></ul>
</div>
<p id="category-chosen" class="note"></p>
<label for="photos" data-w="photos">现场照片</label>
<input id="photos" type="file" accept="image/*" capture="environment" multiple>
<label for="photos" class="photo-button" data-w="takePhoto">拍照或选择照片</label>
<p class="note" id="photo-note"></p>
<ul id="thumbs"></ul>
<p class="label" data-w="position">位置</p>
<p id="position" role="status" class="note"></p>
{where}
<label for="description" data-w="description">问题描述</label>
<textarea id="description" name="description" rows="4" maxlength="5000"></textarea>
<label for="phone" data-w="phone">联系电话（选填，不公开）</label>
<input id="phone" name="phone" type="tel" maxlength="50" autocomplete="tel">
<button type="submit" id="submit" data-w="submit">提交</button>
<div id="result" role="status"></div>
</form>"""

_WHERE = """<button type="button" id="locate" class="secondary" data-w="locate">重新定位</button>
<label for="building-code" data-w="buildingCode">或填写门牌上的楼栋编码</label>
<input id="building-code" name="building_code" maxlength="32" autocomplete="off">"""


def report_form(max_photos: int, building_code: str | None = None) -> str:
    """The form's HTML: on a plate (``building_code``) it reports at that building.

    Parameters
    ----------
    max_photos
        How many photos a report may carry (``GRIDGOV_EVENTS_MAX_PHOTOS``).
    building_code
        The plate's building; without it the page asks for the phone's position
        and offers a building code field instead.

    Examples
    --------
    >>> 'data-building="B1&amp;2"' in report_form(6, "B1&2")
    True
    >>> 'id="locate"' in report_form(6), 'id="locate"' in report_form(6, "B1")
    (True, False)
    """
    return _FORM.format(building=escape(building_code or ""), max_photos=int(max_photos),
                        where="" if building_code else _WHERE)


__all__ = ["FORM_ASSETS", "report_form"]
