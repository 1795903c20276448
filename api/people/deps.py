"""Dependencies of the people routes: the roles that may use them, the app's tables."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from api.auth.access import Staff
from api.auth.principal import Principal
from api.errors import APIError
from api.imports.admin_codes import DivisionTable
from api.people.scope import READ_ROLES, STATS_ROLES, UNMASK_ROLES, WRITE_ROLES


def _allowing(allowed: tuple[str, ...]) -> Callable[[Principal], Awaitable[Principal]]:
    async def check(principal: Staff) -> Principal:
        if principal.role not in allowed:
            raise APIError(403, "forbidden", f"role {principal.role!r} may not use this; "
                           f"roles allowed: {', '.join(allowed)}")
        return principal
    return check


async def get_divisions(request: Request) -> DivisionTable:
    """The GB/T 2260 table (loaded in the lifespan)."""
    table: DivisionTable = request.app.state.gridgov.divisions
    return table


#: a staff user who reads the archive (masked, within scope)
Reader = Annotated[Principal, Depends(_allowing(READ_ROLES))]
#: a staff user who writes persons, residences, tags and visits (within scope)
Writer = Annotated[Principal, Depends(_allowing(WRITE_ROLES))]
#: a staff user who may unmask, with a reason
Unmasker = Annotated[Principal, Depends(_allowing(UNMASK_ROLES))]
#: a staff user who reads the visit KPIs
StatsReader = Annotated[Principal, Depends(_allowing(STATS_ROLES))]
Divisions = Annotated[DivisionTable, Depends(get_divisions)]
