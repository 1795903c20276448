"""The per-grid population counts as readers take them: one statement for tiles and stats.

The counts (residents, households, special populations, organisations) are kept
per grid version in ``people_counts`` by the triggers of migration 0029, with
the SQL function ``gridgov_people_counts_of`` - the one home of the counting
rule. A row holds while ``CURRENT_DATE < valid_until``; a grid whose row has
expired (a residence or tag starting or ending since it was counted) or is
missing is counted live by the same function.
"""

from __future__ import annotations

#: the counted measures, in the order of :func:`grid_counts_sql`'s columns
MEASURES = ("residents", "households", "special", "organisations")


def grid_counts_sql(grid: str = "g") -> str:
    """A sub-query (for ``CROSS JOIN LATERAL``) of the counts of the grid row ``grid``.

    Examples
    --------
    >>> "people_counts AS c" in grid_counts_sql("g"), "ARRAY[g.id]" in grid_counts_sql("g")
    (True, True)
    """
    cols = ", ".join(f"c.{m}" for m in MEASURES)
    live = ", ".join(f"f.{m}" for m in MEASURES)
    return (f"(SELECT {cols} FROM people_counts AS c WHERE c.grid_id = {grid}.id "  # noqa: S608
            "AND (c.valid_until IS NULL OR c.valid_until > CURRENT_DATE) "
            f"UNION ALL SELECT {live} FROM gridgov_people_counts_of(ARRAY[{grid}.id]) AS f "
            "LIMIT 1)")
