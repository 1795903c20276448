"""HTML views of the OGC API Features documents (the ``html`` conformance class).

Small, dependency-free pages: every value is escaped, every page links its
JSON alternate. Feature pages draw nothing on a map (the one-map at ``/`` does).
"""

from __future__ import annotations

from html import escape
from typing import Any

#: the pages' style sheet, served by the web router
STYLESHEET = "/static/ogc.css"


def page(title: str, body: str, json_href: str) -> str:
    """A complete HTML page with a link to the JSON alternate."""
    return (f"<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width,initial-scale=1'>"
            f"<title>{escape(title)}</title><link rel='stylesheet' href='{STYLESHEET}'>"
            f"<link rel='alternate' type='application/json' href='{escape(json_href)}'>"
            f"</head><body><nav><a href='/ogc?f=html'>OGC API</a>"
            f"<a href='/ogc/collections?f=html'>collections</a><a href='/'>一张图 one-map</a>"
            f"<a href='{escape(json_href)}'>JSON</a></nav><h1>{escape(title)}</h1>{body}"
            f"</body></html>")


def _links(links: list[dict[str, str]]) -> str:
    rows = "".join(
        f"<li><a href='{escape(lk['href'])}'>{escape(lk.get('title') or lk['rel'])}</a> "
        f"<small>({escape(lk['rel'])}, {escape(lk['type'])})</small></li>" for lk in links)
    return f"<ul>{rows}</ul>"


def _html_link(href: str) -> str:
    sep = "&" if "?" in href else "?"
    return f"{href}{sep}f=html"


def landing(doc: dict[str, Any], json_href: str) -> str:
    """The landing page."""
    body = f"<p>{escape(doc['description'])}</p>{_links(doc['links'])}"
    return page(doc["title"], body, json_href)


def conformance(doc: dict[str, Any], json_href: str) -> str:
    """The conformance classes."""
    items = "".join(f"<li>{escape(c)}</li>" for c in doc["conformsTo"])
    return page("Conformance", f"<ul>{items}</ul>", json_href)


def _collection_row(c: dict[str, Any]) -> str:
    href = next(lk["href"] for lk in c["links"] if lk["rel"] == "self")
    items = next(lk["href"] for lk in c["links"] if lk["rel"] == "items")
    bbox = ", ".join(f"{v:.5f}" for v in c["extent"]["spatial"]["bbox"][0])
    return (f"<tr><td><a href='{escape(_html_link(href))}'>{escape(c['id'])}</a></td>"
            f"<td>{escape(c['title'])}</td><td>{escape(c['description'])}</td>"
            f"<td>{escape(bbox)}</td><td><a href='{escape(_html_link(items))}'>items</a></td></tr>")


def collections(doc: dict[str, Any], json_href: str) -> str:
    """The list of collections."""
    rows = "".join(_collection_row(c) for c in doc["collections"])
    body = ("<table><tr><th>id</th><th>title</th><th>description</th><th>bbox (CRS84)</th>"
            f"<th></th></tr>{rows}</table>")
    return page("Collections", body, json_href)


def collection(doc: dict[str, Any], json_href: str) -> str:
    """One collection."""
    rows = f"<tr><th>bbox (CRS84)</th><td>{escape(str(doc['extent']['spatial']['bbox'][0]))}"
    rows += "</td></tr>"
    if "temporal" in doc["extent"]:
        rows += (f"<tr><th>interval</th><td>{escape(str(doc['extent']['temporal']['interval']))}"
                 "</td></tr>")
    body = (f"<p>{escape(doc['description'])}</p><table>{rows}</table>"
            f"{_links(doc['links'])}")
    return page(f"{doc['title']} ({doc['id']})", body, json_href)


def _props_table(features: list[dict[str, Any]], base: str) -> str:
    if not features:
        return "<p>no features</p>"
    names = list(features[0]["properties"])
    head = "".join(f"<th>{escape(n)}</th>" for n in ["id", *names])
    rows = []
    for f in features:
        cells = "".join(f"<td>{escape(str(f['properties'].get(n, '')))}</td>" for n in names)
        href = f"{base}/items/{f['id']}?f=html"
        rows.append(f"<tr><td><a href='{escape(href)}'>{escape(str(f['id']))}</a></td>{cells}</tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def items(doc: dict[str, Any], title: str, collection_href: str, json_href: str) -> str:
    """A page of items."""
    body = (f"<p>{doc['numberReturned']} of {doc['numberMatched']} features</p>"
            f"{_props_table(doc['features'], collection_href)}")
    nav = [lk for lk in doc["links"] if lk["rel"] in ("next", "prev")]
    if nav:
        body += "<p>" + " ".join(
            f"<a href='{escape(_html_link(lk['href']))}'>{escape(lk['rel'])}</a>"
            for lk in nav) + "</p>"
    return page(title, body, json_href)


def item(doc: dict[str, Any], title: str, json_href: str) -> str:
    """One feature."""
    rows = "".join(f"<tr><th>{escape(k)}</th><td>{escape(str(v))}</td></tr>"
                   for k, v in doc["properties"].items())
    geom = doc.get("geometry") or {}
    body = (f"<table>{rows}<tr><th>geometry</th><td>{escape(str(geom.get('type')))}</td></tr>"
            f"</table>{_links(doc['links'])}")
    return page(title, body, json_href)


def queryables(doc: dict[str, Any], json_href: str) -> str:
    """The queryables of a collection: name, type, allowed values."""
    rows = "".join(
        f"<tr><td><code>{escape(name)}</code></td>"
        f"<td>{escape(s.get('format') or s.get('type', ''))}</td>"
        f"<td>{escape(', '.join(map(str, s.get('enum', []))))}</td></tr>"
        for name, s in doc["properties"].items())
    body = (f"<p>{escape(doc['description'])}: what <code>filter</code> (CQL2) and "
            f"<code>sortby</code> may name.</p><table><tr><th>queryable</th><th>type</th>"
            f"<th>values</th></tr>{rows}</table>")
    return page(f"{doc['title']} · queryables", body, json_href)
