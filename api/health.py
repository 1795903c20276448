"""Health: is the database there, and which versions run."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

import api
from api.auth.access import public
from api.deps import SessionDep
from api.routing import Router

router = Router(tags=["health"])


@router.get("/healthz")
@public
def healthz(session: SessionDep) -> dict[str, Any]:
    """Report that the server runs, with the database and PostGIS versions."""
    row = session.execute(
        text("SELECT current_setting('server_version') AS pg, postgis_lib_version() AS postgis,"
             " postgis_full_version() AS postgis_full")
    ).mappings().one()
    return {"status": "ok", "version": api.__version__,
            "database": {"postgresql": row["pg"], "postgis": row["postgis"],
                         "postgis_full": row["postgis_full"]}}
