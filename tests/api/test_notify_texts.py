"""Notification texts: an admin's text is reset to the built-in one, which the migrations seed."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.notify.builtin import BUILT_IN
from api.notify.models import KINDS, LANGUAGES
from api.notify.templates import render
from tests.api.events_support import bearer, token_for

TZ = ZoneInfo("Asia/Shanghai")


def test_the_migrations_seed_the_built_in_texts_of_every_kind(session: Session) -> None:
    seeded = {(k, lang): (s, b) for k, lang, s, b in session.execute(text(
        "SELECT kind, language, subject, body FROM notify_templates "
        "WHERE category_code IS NULL"))}
    assert seeded == BUILT_IN
    assert set(BUILT_IN) == {(k, lang) for k in KINDS for lang in LANGUAGES}


def test_a_reset_template_is_the_built_in_text_again(client: TestClient,
                                                     session: Session) -> None:
    admin = bearer(token_for(session, "admin", "reset-admin"))
    event_id, category = session.execute(text(
        "SELECT e.id, c.code FROM events e JOIN event_categories c ON c.id = e.category_id "
        "ORDER BY e.id LIMIT 1")).one()
    conn = session.connection()
    built_in = render(conn, event_id, "closed", "en", "https://g.example", TZ)
    assert built_in is not None and built_in[0] == BUILT_IN[("closed", "en")][0]
    url = "/api/v1/notifications/templates/closed/en"
    for body in ({"subject": "Mine", "body": "b"},
                 {"category": category, "subject": "Category's", "body": "b"}):
        assert client.put(url, headers=admin, json=body).status_code == 200
    assert (render(conn, event_id, "closed", "en", "https://g.example", TZ)
            or ("", ""))[0] == "Category's"
    gone = client.delete(url, headers=admin, params={"category": category})
    assert gone.status_code == 200 and gone.json()["reset"] == "removed", gone.text
    assert (render(conn, event_id, "closed", "en", "https://g.example", TZ)
            or ("", ""))[0] == "Mine"  # the default applies to the category again
    back = client.delete(url, headers=admin)
    assert back.status_code == 200 and back.json()["reset"] == "built_in", back.text
    assert render(conn, event_id, "closed", "en", "https://g.example", TZ) == built_in
    for params in ({}, {"category": category}):
        again = client.delete(url, headers=admin, params=params)
        assert again.status_code == 404 and again.json()["code"] == "template_not_set"
    assert session.execute(text("SELECT count(*) FROM audit_log WHERE action = "
                                "'notify.template_reset'")).scalar_one() == 2


def test_only_an_admin_resets_a_known_kind(client: TestClient, session: Session) -> None:
    admin = bearer(token_for(session, "admin", "reset-admin2"))
    client.put("/api/v1/notifications/templates/closed/zh", headers=admin,
               json={"subject": "s", "body": "b"})
    dispatcher = bearer(token_for(session, "dispatcher", "reset-disp"))
    denied = client.delete("/api/v1/notifications/templates/closed/zh", headers=dispatcher)
    assert denied.status_code == 403
    nokind = client.delete("/api/v1/notifications/templates/birthday/zh", headers=admin)
    assert nokind.status_code == 422 and nokind.json()["code"] == "invalid_parameter"
    subject = session.execute(text("SELECT subject FROM notify_templates WHERE kind = 'closed' "
                                   "AND language = 'zh' AND category_code IS NULL")
                              ).scalar_one()
    assert subject == "s"
