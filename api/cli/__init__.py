"""The ``gridgov`` command line: one module per command group, assembled here."""

from __future__ import annotations

import typer

from api.cli.analytics import analytics_app
from api.cli.apikey import apikey_app
from api.cli.audit import audit_app
from api.cli.calendar import calendar_app
from api.cli.catalogue import categories_app, departments_app, rules_app
from api.cli.data import export, load, sample
from api.cli.db import db_app
from api.cli.events import events_app
from api.cli.field import field_app
from api.cli.grid_versions import versions_app
from api.cli.grids import grids_app, plates
from api.cli.imports import import_app
from api.cli.keys import keys_app
from api.cli.notify import notify_app
from api.cli.reports import report
from api.cli.server import demo, serve
from api.cli.users import tokens_app, users_app

app = typer.Typer(help="gridgov: grid-based community governance server.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
app.add_typer(db_app, name="db")
for command in (sample, load, export, serve, demo):
    app.command()(command)
app.add_typer(import_app, name="import")
app.add_typer(apikey_app, name="apikey")
app.add_typer(users_app, name="user")
app.add_typer(tokens_app, name="token")
app.add_typer(events_app, name="events")
grids_app.add_typer(versions_app, name="version")
app.add_typer(grids_app, name="grids")
app.command("plates")(plates)
app.add_typer(departments_app, name="department")
app.add_typer(categories_app, name="category")
app.add_typer(rules_app, name="rule")
app.add_typer(audit_app, name="audit")
app.add_typer(keys_app, name="keys")
app.add_typer(notify_app, name="notify")
app.add_typer(calendar_app, name="calendar")
app.add_typer(field_app, name="field")
app.add_typer(analytics_app, name="analytics")
app.command("report")(report)
