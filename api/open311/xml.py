"""The XML form of Open311 answers, with the element names of the GeoReport v2 spec."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from xml.etree import ElementTree

XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
PLURAL_CHILD = {"endpoints": "endpoint", "formats": "format", "attributes": "attribute",
                "values": "value"}


def _fill(parent: ElementTree.Element, value: Any) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            _fill(ElementTree.SubElement(parent, key), item)
    elif isinstance(value, list):
        child = PLURAL_CHILD.get(parent.tag, "item")
        for item in value:
            _fill(ElementTree.SubElement(parent, child), item)
    elif isinstance(value, bool):
        parent.text = "true" if value else "false"
    elif value is not None:
        parent.text = XML_INVALID.sub("\ufffd", str(value))


def to_xml(root: str, data: Any, item: str | None = None) -> bytes:
    """Render ``data`` under ``<root>``; a list becomes one ``<item>`` per element.

    Examples
    --------
    >>> to_xml("errors", [{"code": 403, "description": "bad key"}], "error")[39:]
    b'<errors><error><code>403</code><description>bad key</description></error></errors>'
    """
    element = ElementTree.Element(root)
    if item is not None and isinstance(data, list):
        for entry in data:
            _fill(ElementTree.SubElement(element, item), entry)
    else:
        _fill(element, data)
    body: bytes = ElementTree.tostring(element, encoding="utf-8", xml_declaration=True)
    return body
