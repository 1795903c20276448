"""Users, passwords, API tokens and browser sessions (the caller commits).

Secrets are random (``gg_`` + 43 URL-safe characters for tokens, 43 for session
cookies), shown once and stored as their SHA-256; passwords as argon2id
hashes. A sign-in that fails says only that the name or the password is wrong;
an unknown name costs the same argon2 verification as a wrong password.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from api.audit.service import SYSTEM, Actor, record
from api.auth.models import ROLES, ApiToken, User, UserSession
from api.db.models import AdminArea, Department, Grid
from gis_core.errors import Conflict, InvalidInput, NotFound

_hasher = PasswordHasher()  # argon2id, the library's RFC 9106 low-memory profile
_DUMMY_HASH = _hasher.hash("gridgov: no such user")
MIN_PASSWORD_LENGTH = 10
_DURATION = re.compile(r"^(\d{1,5})([hdw])$")


def hash_secret(secret: str) -> str:
    """The stored form of a token or session cookie (hex SHA-256).

    Examples
    --------
    >>> len(hash_secret("gg_x"))
    64
    """
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_duration(text: str) -> timedelta:
    """A token lifetime such as ``12h``, ``30d`` or ``8w``.

    Examples
    --------
    >>> parse_duration("30d")
    datetime.timedelta(days=30)
    >>> parse_duration("1y")
    Traceback (most recent call last):
    gis_core.errors.InvalidInput: parameter 'expires': '1y' is not N followed by h, d or w
    """
    m = _DURATION.match(text.strip())
    if not m:
        raise InvalidInput(f"parameter 'expires': {text!r} is not N followed by h, d or w",
                           code="invalid_duration", field="expires")
    n, unit = int(m.group(1)), m.group(2)
    return timedelta(hours=n) if unit == "h" else timedelta(days=n * (7 if unit == "w" else 1))


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (at least 10 characters)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"parameter 'password': at least {MIN_PASSWORD_LENGTH} characters",
                           code="weak_password", field="password")
    return _hasher.hash(password)


def check_password(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored`` (a dummy hash is checked when None)."""
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


# -- users ---------------------------------------------------------------------------------
def _check_codes(session: Session, model: Any, codes: Sequence[str], field: str) -> list[str]:
    codes = list(dict.fromkeys(c.strip() for c in codes if c.strip()))
    if codes:
        found = set(session.execute(select(model.code).where(model.code.in_(codes))).scalars())
        missing = [c for c in codes if c not in found]
        if missing:
            raise InvalidInput(f"parameter '{field}': unknown codes {missing}",
                               code=f"unknown_{field}", field=field)
    return codes


def _department_id(session: Session, code: str | None) -> int | None:
    if not code:
        return None
    dep = session.execute(select(Department.id).where(Department.code == code)
                          ).scalar_one_or_none()
    if dep is None:
        raise InvalidInput(f"parameter 'department': no department with code {code!r}",
                           code="unknown_department", field="department")
    return dep


def _check_role(role: str, department_id: int | None, grids: Sequence[str]) -> None:
    if role not in ROLES:
        raise InvalidInput(f"parameter 'role': {role!r} is not one of {', '.join(ROLES)}",
                           code="invalid_role", field="role")
    if role == "handler" and department_id is None:
        raise InvalidInput("parameter 'department': a handler belongs to a department",
                           code="department_required", field="department")
    if role == "grid_worker" and not grids:
        raise InvalidInput("parameter 'grid': a grid worker needs at least one grid code",
                           code="grids_required", field="grid")


def create_user(session: Session, *, name: str, role: str, department: str | None = None,
                grids: Sequence[str] = (), areas: Sequence[str] = (),
                password: str | None = None, by: Actor | None = None) -> tuple[User, str]:
    """Create a user and return it with a first API token (shown once; the caller commits).

    Writes a ``user.create`` audit row by ``by`` (default ``system``).
    """
    name = name.strip()
    if not name or len(name) > 100:
        raise InvalidInput("parameter 'name': 1 to 100 characters", code="invalid_name",
                           field="name")
    department_id = _department_id(session, department)
    grids = _check_codes(session, Grid, grids, "grid")
    _check_role(role, department_id, grids)
    if session.execute(select(User.id).where(User.name == name)).first():
        raise InvalidInput(f"parameter 'name': a user named {name!r} exists",
                           code="user_exists", field="name")
    user = User(name=name, role=role, department_id=department_id, grid_codes=grids,
                area_codes=_check_codes(session, AdminArea, areas, "area"), active=True,
                password_hash=hash_password(password) if password else None)
    session.add(user)
    session.flush()
    record(session, actor=by or SYSTEM, action="user.create", object_type="user",
           object_id=user.id, after=_audited(user))
    _, token = create_token(session, user, by=by)
    return user, token


def _audited(user: User) -> dict[str, Any]:
    """What the audit log keeps of a user (never the password hash)."""
    return {"name": user.name, "role": user.role, "department_id": user.department_id,
            "areas": list(user.area_codes or ()), "grids": list(user.grid_codes or ()),
            "active": user.active, "password": user.password_hash is not None}


def user_by_name(session: Session, name: str) -> User:
    """The user called ``name``; 404 ``user_not_found`` otherwise."""
    user = session.execute(select(User).where(User.name == name)).scalar_one_or_none()
    if user is None:
        raise NotFound(f"no user named {name!r}", code="user_not_found")
    return user


def list_users(session: Session, user_id: int | None = None
               ) -> list[tuple[User, str | None, datetime | None]]:
    """Every user (or one) by name, with their department's code and their last sign-in."""
    last = (select(UserSession.user_id, func.max(UserSession.created_at).label("at"))
            .group_by(UserSession.user_id).subquery())
    query = (select(User, Department.code, last.c.at)
             .outerjoin(Department, Department.id == User.department_id)
             .outerjoin(last, last.c.user_id == User.id).order_by(User.name))
    if user_id is not None:
        query = query.where(User.id == user_id)
    rows = session.execute(query).all()
    return [(user, code, at) for user, code, at in rows]


def department_code(session: Session, user: User) -> str | None:
    """The code of ``user``'s department (None without one)."""
    if user.department_id is None:
        return None
    return session.execute(select(Department.code).where(
        Department.id == user.department_id)).scalar_one_or_none()


def _keep_an_admin(session: Session, user: User, role: str | None, active: bool | None) -> None:
    """Refuse to demote or disable the last active admin (409 ``last_admin``)."""
    leaving = user.role == "admin" and user.active and (
        (role is not None and role != "admin") or active is False)
    if leaving and not session.execute(select(User.id).where(
            User.role == "admin", User.active, User.id != user.id).limit(1)).first():
        raise Conflict(f"{user.name!r} is the last active admin; make another admin first",
                       code="last_admin")


def update_user(session: Session, user: User, *, role: str | None = None,
                department: str | None = None, grids: Sequence[str] | None = None,
                areas: Sequence[str] | None = None, active: bool | None = None,
                password: str | None = None, by: Actor | None = None) -> User:
    """Change a user's role, scope, state or password; disabling ends their sessions.

    Writes a ``user.update`` audit row with the user before and after.
    """
    before = _audited(user)
    _keep_an_admin(session, user, role, active)
    if department is not None:
        user.department_id = _department_id(session, department)
    if grids is not None:
        user.grid_codes = _check_codes(session, Grid, grids, "grid")
    if areas is not None:
        user.area_codes = _check_codes(session, AdminArea, areas, "area")
    if role is not None:
        user.role = role
    _check_role(user.role, user.department_id, user.grid_codes)
    if password is not None:
        user.password_hash = hash_password(password)
    if active is not None:
        user.active = active
    if active is False or password is not None:
        end_sessions(session, user.id)
    session.flush()
    record(session, actor=by or SYSTEM, action="user.update", object_type="user",
           object_id=user.id, before=before,
           after={**_audited(user), "password_changed": password is not None})
    return user


# -- API tokens ----------------------------------------------------------------------------
def create_token(session: Session, user: User, *, name: str = "token",
                 expires: timedelta | None = None, by: Actor | None = None
                 ) -> tuple[ApiToken, str]:
    """A new bearer token of ``user`` (shown once), valid for ``expires`` or until revoked."""
    token = "gg_" + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=name[:100] or "token", token_hash=hash_secret(token),
                   expires_at=datetime.now(UTC) + expires if expires else None)
    session.add(row)
    session.flush()
    record(session, actor=by or SYSTEM, action="token.create", object_type="token",
           object_id=row.id, after={"user_id": user.id, "name": row.name,
                                    "expires_at": row.expires_at.isoformat()
                                    if row.expires_at else None})
    return row, token


def tokens_of(session: Session, user: User) -> list[ApiToken]:
    """The tokens of ``user``, oldest first (revoked and expired ones included)."""
    return list(session.execute(select(ApiToken).where(ApiToken.user_id == user.id)
                                .order_by(ApiToken.id)).scalars())


def token_state(token: ApiToken, now: datetime | None = None) -> str:
    """``active``, ``expired`` or ``revoked``."""
    if token.revoked_at is not None:
        return "revoked"
    if token.expires_at is not None and token.expires_at <= (now or datetime.now(UTC)):
        return "expired"
    return "active"


def revoke_token(session: Session, token_id: int, by: Actor | None = None) -> ApiToken:
    """Revoke a token by id (revoking twice keeps the first time); 404 when unknown."""
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFound(f"no token with id {token_id}", code="token_not_found")
    if row.revoked_at is None:
        row.revoked_at = datetime.now(UTC)
        session.flush()
        record(session, actor=by or SYSTEM, action="token.revoke", object_type="token",
               object_id=row.id, after={"user_id": row.user_id})
    return row


# -- browser sessions ----------------------------------------------------------------------
def sign_in(session: Session, name: str, password: str) -> User | None:
    """The active user with this name and password, or None (same cost either way)."""
    user = session.execute(select(User).where(User.name == name.strip())).scalar_one_or_none()
    ok = check_password(user.password_hash if user else None, password)
    return user if ok and user is not None and user.active else None


def start_session(session: Session, user: User, *, hours: float, address: str | None,
                  user_agent: str | None) -> tuple[UserSession, str]:
    """A new browser session of ``user``; returns it with the cookie value (shown once)."""
    cookie = secrets.token_urlsafe(32)
    row = UserSession(id=hash_secret(cookie), user_id=user.id,
                      csrf_token=secrets.token_urlsafe(32), address=address,
                      user_agent=(user_agent or "")[:300] or None,
                      expires_at=datetime.now(UTC) + timedelta(hours=hours))
    session.add(row)
    session.flush()
    return row, cookie


def end_session(session: Session, cookie: str) -> None:
    """Sign a browser out (nothing happens for an unknown cookie)."""
    session.execute(update(UserSession).where(UserSession.id == hash_secret(cookie),
                                              UserSession.revoked_at.is_(None))
                    .values(revoked_at=func.now()))


def end_sessions(session: Session, user_id: int) -> None:
    """Sign every browser of a user out (disabled, or a new password)."""
    session.execute(update(UserSession).where(UserSession.user_id == user_id,
                                              UserSession.revoked_at.is_(None))
                    .values(revoked_at=func.now()))
