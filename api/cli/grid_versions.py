"""``gridgov grids version ...``: a layer's new version uploaded, checked, repaired, published."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from api.audit.service import cli_actor

versions_app = typer.Typer(help="Versions of a grid layer: upload, list, show, repair, "
                                "publish, discard.", no_args_is_help=True)
VersionArg = Annotated[int, typer.Argument(help="version id (grids version list)", min=1,
                                           max=2**31 - 1)]


def _summary(found: dict[str, Any]) -> None:
    qa = found.get("qa", {})
    typer.echo(f"version {found['id']} of {found['layer']}: {found['status']}, "
               f"{found['grids']} grids", err=True)
    if qa:
        typer.echo(f"QA: {'ok' if qa['ok'] else 'errors'} ({qa['errors']} errors, "
                   f"{qa['warnings']} warnings)", err=True)
        for f in qa["findings"]["features"][:20]:
            p = f["properties"]
            typer.echo(f"  {p['kind']} {'/'.join(map(str, p['codes']))} "
                       f"{p['area_m2']:.1f} m2", err=True)
    if "changes" in found:
        c = found["changes"]
        typer.echo(f"publishing changes: {len(c['added'])} added, {len(c['changed'])} "
                   f"changed, {len(c['removed'])} removed, {c['unchanged']} unchanged",
                   err=True)


@versions_app.command("upload")
def upload(
    file: Annotated[Path, typer.Argument(help="GeoPackage, GeoJSON, zipped Shapefile, "
                                              "FlatGeobuf or CSV with WKT")],
    layer: Annotated[str, typer.Option(help="the grid layer")],
    code_field: Annotated[str | None, typer.Option(help="column of the grid codes")] = None,
    name_field: Annotated[str | None, typer.Option(help="column of the grid names")] = None,
    crs: Annotated[str | None, typer.Option(help="CRS when the file declares none")] = None,
    note: Annotated[str | None, typer.Option(help="what the version changes")] = None,
) -> None:
    """Upload a new version of a layer as a draft; print its id, QA and changes."""
    from api.cli._common import _fail, _session
    from api.grids import versions

    if not file.is_file():
        raise _fail(f"no file {str(file)!r}")
    with _session() as session:
        grids = versions.read_grid_file(file, crs=crs, code_field=code_field,
                                        name_field=name_field)
        found = versions.upload(session, layer, grids, source=file.name, note=note,
                                by=cli_actor())
        session.commit()
        described = versions.describe(session, found.id)
    typer.echo(str(found.id))
    _summary(described)


@versions_app.command("list")
def list_(layer: Annotated[str | None, typer.Option(help="one grid layer")] = None) -> None:
    """List versions: id, layer, status, grids, effective from, created by and when."""
    from api.cli._common import _session
    from api.grids import versions

    with _session() as session:
        rows = versions.list_versions(session, layer)
    for v in rows:
        typer.echo(f"{v['id']}\t{v['layer']}\t{v['status']}\t{v['grids']} grids\t"
                   f"effective={v['effective_from'] or '-'}\tby={v['created_by']}\t"
                   f"{v['created_at']}")


@versions_app.command("show")
def show(version_id: VersionArg,
         as_json: Annotated[bool, typer.Option("--json", help="the whole record as JSON")]
         = False) -> None:
    """Show a version's QA findings and what publishing it would change (exit 1 on errors)."""
    from api.cli._common import _session
    from api.grids import versions

    with _session() as session:
        found = versions.describe(session, version_id)
    if as_json:
        typer.echo(json.dumps(found, ensure_ascii=False, indent=2))
    _summary(found)
    if not found["qa"]["ok"]:
        raise typer.Exit(1)


@versions_app.command("repair")
def repair_(version_id: VersionArg,
            apply: Annotated[bool, typer.Option("--apply", help="write the repair into the "
                                                "draft (default: preview only)")] = False
            ) -> None:
    """Preview (or --apply) the topology repair of a draft: grids changed, QA after."""
    from api.cli._common import _session
    from api.grids import repair

    with _session() as session:
        if apply:
            done = repair.apply_repair(session, version_id, by=cli_actor())
            session.commit()
        else:
            done = repair.repair_preview(session, version_id)
    for c in done["changed"]:
        typer.echo(f"{c['code']}\t{c['area_before_m2']:.1f} -> {c['area_after_m2']:.1f} m2"
                   f"\tmoved {c['area_moved_m2']:.1f} m2")
    qa = done["qa"]
    verb = "repaired" if apply else "a repair would change"
    typer.echo(f"{verb} {len(done['changed'])} grids; QA after: "
               f"{'ok' if qa['ok'] else 'errors'} ({qa['errors']} errors)", err=True)


@versions_app.command("publish")
def publish(version_id: VersionArg,
            effective: Annotated[str, typer.Option(
                help="when it takes effect, ISO 8601 with offset (2027-01-01T00:00+08:00)")]
            ) -> None:
    """Publish a draft from a date: old grids keep their history, objects are re-linked."""
    from api.cli._common import _fail, _session
    from api.grids import versions

    try:
        when = datetime.fromisoformat(effective)
    except ValueError:
        raise _fail(f"--effective: {effective!r} is not an ISO 8601 time") from None
    with _session() as session:
        found = versions.publish(session, version_id, when, by=cli_actor())
        session.commit()
        s = found.summary
    typer.echo(f"version {version_id} published from {when.isoformat()}: "
               f"{len(s['added'])} added, {len(s['changed'])} changed, "
               f"{len(s['removed'])} removed, {s['unchanged']} unchanged; "
               f"{s['events_reassigned']} events, {s['buildings_linked']} buildings, "
               f"{s['cameras_linked']} cameras re-linked", err=True)


@versions_app.command("discard")
def discard(version_id: VersionArg) -> None:
    """Discard a draft."""
    from api.cli._common import _session
    from api.grids import versions

    with _session() as session:
        versions.discard(session, version_id, by=cli_actor())
        session.commit()
    typer.echo(f"version {version_id} discarded", err=True)
