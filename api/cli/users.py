"""``gridgov user ...`` and ``gridgov token ...``: staff users and their API tokens.

A password never appears on the command line (where ``ps`` and the shell history
would keep it): ``--password-stdin`` reads one line from standard input,
otherwise it is asked twice with hidden input on a terminal. Secrets are printed
once on standard output, everything else on standard error, so
``TOKEN=$(gridgov token create --user U)`` works.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import typer

from api.audit.service import cli_actor
from api.cli._common import _session

if TYPE_CHECKING:
    pass

users_app = typer.Typer(help="Staff users: create, list, set role and scope, disable, "
                                "enable, set a password, import, export.",
                        no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens of staff users: create, list, revoke.",
                         no_args_is_help=True)

PasswordStdin = Annotated[bool, typer.Option(
    "--password-stdin", help="read the password from the first line of standard input")]


def _read_password(from_stdin: bool) -> str:
    """The password from standard input, or asked on the terminal with hidden input."""
    from api.cli._common import _fail

    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise _fail("--password-stdin: standard input has no password line")
        return password
    if not sys.stdin.isatty():
        raise _fail("no terminal to ask the password on: pipe it in with --password-stdin")
    return str(typer.prompt("password", hide_input=True, confirmation_prompt=True))


def _when(value: datetime | None) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M") if value else "-"


# -- users ---------------------------------------------------------------------------------
@users_app.command("create")
def user_create(
    name: Annotated[str, typer.Option(help="unique user name")],
    role: Annotated[str, typer.Option(help="admin, dispatcher, handler, grid_worker, "
                                           "analyst or leader")],
    department: Annotated[str | None, typer.Option(help="department code (handlers)")] = None,
    grid: Annotated[list[str] | None, typer.Option(help="grid code of the scope (repeat)")]
    = None,
    area: Annotated[list[str] | None, typer.Option(
        help="admin area code of the scope: district, street or community (repeat)")] = None,
    password_stdin: PasswordStdin = False,
    prompt_password: Annotated[bool, typer.Option(
        "--prompt-password", help="ask a password for the sign-in page (hidden input)")]
    = False,
) -> None:
    """Create a user and print its first API token (shown once; only its hash is stored)."""
    from api.auth.service import create_user

    password = _read_password(password_stdin) if password_stdin or prompt_password else None
    with _session() as session:
        user, token = create_user(session, name=name, role=role, department=department,
                                  grids=grid or [], areas=area or [], password=password,
                                  by=cli_actor())
        session.commit()
    typer.echo(token)
    signs_in = "signs in with a password or" if password else "uses"
    typer.echo(f"user {user.name!r} ({user.role}) created; {signs_in} "
               "'Authorization: Bearer <token>'", err=True)


@users_app.command("list")
def user_list(
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = False,
) -> None:
    """List users: role, scope, state, creation and last sign-in."""
    from api.auth.service import list_users

    with _session() as session:
        rows = list_users(session)
    for user, department, last in rows:
        if as_json:
            typer.echo(json.dumps({
                "name": user.name, "role": user.role, "department": department,
                "areas": list(user.area_codes), "grids": list(user.grid_codes),
                "active": user.active, "created_at": user.created_at.isoformat(),
                "last_sign_in_at": last.isoformat() if last else None}, ensure_ascii=False))
            continue
        scope = [*user.area_codes, *user.grid_codes, *([department] if department else [])]
        typer.echo(f"{user.name}\t{user.role}\t{'active' if user.active else 'disabled'}\t"
                   f"scope={','.join(scope) or '-'}\tcreated={_when(user.created_at)}\t"
                   f"last_sign_in={_when(last)}")


def _set_active(name: str, active: bool) -> None:
    from api.auth.service import update_user, user_by_name

    with _session() as session:
        update_user(session, user_by_name(session, name), active=active, by=cli_actor())
        session.commit()


@users_app.command("disable")
def user_disable(name: Annotated[str, typer.Argument(help="user name")]) -> None:
    """Disable a user: signed out everywhere, their tokens stop working."""
    _set_active(name, False)
    typer.echo(f"user {name!r} disabled: signed out, tokens refused", err=True)


@users_app.command("enable")
def user_enable(name: Annotated[str, typer.Argument(help="user name")]) -> None:
    """Enable a disabled user again (their unexpired, unrevoked tokens work again)."""
    _set_active(name, True)
    typer.echo(f"user {name!r} enabled", err=True)


@users_app.command("set")
def user_set(
    name: Annotated[str, typer.Argument(help="user name")],
    role: Annotated[str | None, typer.Option(help="a new role")] = None,
    department: Annotated[str | None, typer.Option(
        help="department code ('' for none)")] = None,
    grid: Annotated[list[str] | None, typer.Option(
        help="grid code of the scope (repeat; replaces the grids)")] = None,
    area: Annotated[list[str] | None, typer.Option(
        help="admin area code of the scope (repeat; replaces the areas)")] = None,
    no_grids: Annotated[bool, typer.Option("--no-grids", help="clear the grids")] = False,
    no_areas: Annotated[bool, typer.Option("--no-areas", help="clear the areas")] = False,
) -> None:
    """Change a user's role and scope (department, grids, admin areas)."""
    from api.auth.service import update_user, user_by_name

    with _session() as session:
        user = update_user(session, user_by_name(session, name), role=role,
                           department=department, grids=[] if no_grids else grid,
                           areas=[] if no_areas else area, by=cli_actor())
        session.commit()
        scope = [*user.area_codes, *user.grid_codes]
    typer.echo(f"user {name!r}: {user.role}, scope={','.join(scope) or '-'}", err=True)


@users_app.command("set-password")
def user_set_password(name: Annotated[str, typer.Argument(help="user name")],
                      password_stdin: PasswordStdin = False) -> None:
    """Set a user's password (at least 10 characters); it signs them out everywhere."""
    from api.auth.service import update_user, user_by_name

    password = _read_password(password_stdin)
    with _session() as session:
        update_user(session, user_by_name(session, name), password=password,
                    by=cli_actor())
        session.commit()
    typer.echo(f"password of {name!r} set; their browser sessions ended", err=True)


# -- tokens --------------------------------------------------------------------------------
@tokens_app.command("create")
def token_create(
    user: Annotated[str, typer.Option(help="user name")],
    name: Annotated[str, typer.Option(help="what the token is for")] = "token",
    expires: Annotated[str | None, typer.Option(
        help="lifetime such as 12h, 30d or 8w (default: until revoked)")] = None,
) -> None:
    """Create an API token of a user and print it (shown once)."""
    from api.auth.service import create_token, parse_duration, user_by_name

    with _session() as session:
        lifetime = parse_duration(expires) if expires else None
        row, token = create_token(session, user_by_name(session, user), name=name,
                                  expires=lifetime, by=cli_actor())
        session.commit()
        label = f"token {row.id} {row.name!r} of {user!r}, expires {_when(row.expires_at)}"
    typer.echo(token)
    typer.echo(label, err=True)


@tokens_app.command("list")
def token_list(user: Annotated[str, typer.Option(help="user name")]) -> None:
    """List a user's tokens: id, name, state, created, expires, last used (never secrets)."""
    from api.auth.service import token_state, tokens_of, user_by_name

    with _session() as session:
        rows = tokens_of(session, user_by_name(session, user))
    for t in rows:
        typer.echo(f"{t.id}\t{t.name}\t{token_state(t)}\tcreated={_when(t.created_at)}\t"
                   f"expires={_when(t.expires_at)}\tlast_used={_when(t.last_used_at)}")


@tokens_app.command("revoke")
def token_revoke(token_id: Annotated[int, typer.Argument(help="token id (token list)",
                                                         min=1, max=2**31 - 1)]) -> None:
    """Revoke a token by id: it stops working at once."""
    from api.auth.service import revoke_token

    with _session() as session:
        revoke_token(session, token_id, by=cli_actor())
        session.commit()
    typer.echo(f"token {token_id} revoked", err=True)


from api.cli.catalogue import add_table_commands  # noqa: E402

add_table_commands(users_app, "users")
