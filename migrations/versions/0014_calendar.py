"""working calendars, per-step time limits, pauses and extensions of deadlines

A working calendar (``work_calendars``) holds working hours per ISO weekday
(``work_calendar_hours``) and days that differ from the week
(``work_calendar_days``: statutory holidays and make-up working days, loaded
from the ``chinese-calendar`` package); a district (GB/T 2260 county code) may
have its own, else the default one applies. ``work_periods`` materialises every
working period of a calendar's years with the working seconds before it, so
that adding working time is two index lookups (``gridgov_deadline``).

Categories get a limit and a clock (natural or working time) per step:
dispatch, handling (``time_limit_hours``) and verification.
``gridgov_event_due`` is the one rule for the deadline of an event entering a
status; ``deadline_requests`` holds pauses and extensions.

The SQL functions here are the home of the arithmetic; ``api.calendar``
documents and calls them. The rules are SQL expressions that PostgreSQL
inlines into the calling statement; the working-time arithmetic is PL/pgSQL
(its plans are cached per connection).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 12:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUNCTIONS = """
CREATE FUNCTION gridgov_rebuild_work_periods(cal int) RETURNS int
LANGUAGE plpgsql VOLATILE AS $$
DECLARE n int;
BEGIN
  DELETE FROM work_periods WHERE calendar_id = cal;
  INSERT INTO work_periods (calendar_id, starts_at, ends_at, working_before)
  SELECT cal, s, e, coalesce(sum(EXTRACT(EPOCH FROM e - s)) OVER (
             ORDER BY s ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)
  FROM (
    SELECT (g.d + h.starts) AT TIME ZONE c.timezone AS s,
           (g.d + h.ends) AT TIME ZONE c.timezone AS e
    FROM work_calendars c
    CROSS JOIN LATERAL (SELECT CAST(t AS date) AS d FROM generate_series(
        make_date(c.first_year, 1, 1), make_date(c.last_year, 12, 31),
        interval '1 day') AS t) g
    LEFT JOIN work_calendar_days x ON x.calendar_id = c.id AND x.day = g.d
    JOIN work_calendar_hours h ON h.calendar_id = c.id
     AND h.weekday = CASE WHEN x.kind = 'workday' AND EXTRACT(ISODOW FROM g.d) > 5 THEN 1
                          ELSE EXTRACT(ISODOW FROM g.d) END
    WHERE c.id = cal AND x.kind IS DISTINCT FROM 'holiday'
  ) p;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $$;

CREATE FUNCTION gridgov_calendar_id(area text) RETURNS int
LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN (SELECT id FROM work_calendars WHERE district_code = left(area, 6) OR is_default
          ORDER BY is_default LIMIT 1);
END $$;

CREATE FUNCTION gridgov_working_clock(cal int, t timestamptz) RETURNS float8
LANGUAGE plpgsql STABLE AS $$
DECLARE clock float8; last_end timestamptz;
BEGIN
  SELECT p.working_before + EXTRACT(EPOCH FROM least(t, p.ends_at) - p.starts_at), p.ends_at
  INTO clock, last_end
  FROM work_periods p WHERE p.calendar_id = cal AND p.starts_at <= t
  ORDER BY p.starts_at DESC LIMIT 1;
  IF clock IS NULL OR (t > last_end AND NOT EXISTS (
      SELECT 1 FROM work_periods p WHERE p.calendar_id = cal AND p.starts_at > t)) THEN
    RAISE EXCEPTION USING ERRCODE = 'GGC01', MESSAGE = format(
      'time %s is outside the working periods of calendar %s: outside its years '
      '(gridgov calendar years) or it has no working hours', t,
      (SELECT code FROM work_calendars WHERE id = cal));
  END IF;
  RETURN clock;
END $$;

CREATE FUNCTION gridgov_working_deadline(start timestamptz, seconds float8, area text)
RETURNS timestamptz LANGUAGE plpgsql STABLE AS $$
DECLARE cal int; target float8; hit record;
BEGIN
  cal := gridgov_calendar_id(area);
  IF cal IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = 'GGC01',
      MESSAGE = 'no working calendar: create a default one (gridgov calendar create)';
  END IF;
  -- the working clock at start (as gridgov_working_clock; a start beyond the last period
  -- gives a target beyond it, refused below)
  SELECT p.working_before + EXTRACT(EPOCH FROM least(start, p.ends_at) - p.starts_at)
  INTO target FROM work_periods p WHERE p.calendar_id = cal AND p.starts_at <= start
  ORDER BY p.starts_at DESC LIMIT 1;
  IF target IS NULL THEN
    PERFORM gridgov_working_clock(cal, start);  -- raises: before the first period
  END IF;
  target := target + seconds;
  SELECT starts_at, ends_at, working_before INTO hit
  FROM work_periods WHERE calendar_id = cal AND working_before < target
  ORDER BY working_before DESC LIMIT 1;
  IF hit.starts_at IS NULL THEN  -- target <= 0: the first working instant
    RETURN (SELECT min(starts_at) FROM work_periods WHERE calendar_id = cal);
  END IF;
  IF target - hit.working_before > EXTRACT(EPOCH FROM hit.ends_at - hit.starts_at) THEN
    RAISE EXCEPTION USING ERRCODE = 'GGC01', MESSAGE = format(
      'the deadline of %s plus %s working seconds is beyond the working periods of '
      'calendar %s (gridgov calendar years)', start, seconds,
      (SELECT code FROM work_calendars WHERE id = cal));
  END IF;
  RETURN hit.starts_at + make_interval(secs => target - hit.working_before);
END $$;

-- The functions below are plain SQL expressions: PostgreSQL inlines them into the
-- statement that calls them (natural time costs no function call at all).
CREATE FUNCTION gridgov_deadline(start timestamptz, seconds float8, working boolean,
                                 area text) RETURNS timestamptz
LANGUAGE sql STABLE AS $$
  SELECT CASE WHEN working THEN gridgov_working_deadline(start, seconds, area)
              ELSE start + make_interval(secs => seconds) END
$$;

CREATE FUNCTION gridgov_elapsed(a timestamptz, b timestamptz, working boolean, area text)
RETURNS float8 LANGUAGE sql STABLE AS $$
  SELECT CASE WHEN working
              THEN gridgov_working_clock(gridgov_calendar_id(area), b)
                   - gridgov_working_clock(gridgov_calendar_id(area), a)
              ELSE EXTRACT(EPOCH FROM b - a) END
$$;

CREATE FUNCTION gridgov_status_step(status text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN status IN ('registered', 'returned') THEN 'dispatch'
              WHEN status IN ('dispatched', 'in_progress') THEN 'handling'
              WHEN status IN ('handled', 'verified') THEN 'verification' END
$$;

CREATE FUNCTION gridgov_step_seconds(c event_categories, step text) RETURNS float8
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE step WHEN 'dispatch' THEN c.dispatch_limit_hours
                   WHEN 'handling' THEN c.time_limit_hours
                   WHEN 'verification' THEN c.verification_limit_hours END * 3600
$$;

CREATE FUNCTION gridgov_step_working(c event_categories, step text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE step WHEN 'dispatch' THEN c.dispatch_working
                   WHEN 'handling' THEN c.handling_working
                   WHEN 'verification' THEN c.verification_working END
$$;

CREATE FUNCTION gridgov_due_working(c event_categories, status text) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN gridgov_step_seconds(c, gridgov_status_step(status)) IS NOT NULL
              THEN gridgov_step_working(c, gridgov_status_step(status))
              ELSE c.handling_working END
$$;

CREATE FUNCTION gridgov_event_due(c event_categories, from_status text, to_status text,
                                  start timestamptz, area text, current timestamptz)
RETURNS timestamptz LANGUAGE sql STABLE AS $$
  SELECT CASE
    WHEN from_status IS NOT NULL
     AND gridgov_status_step(from_status) IS NOT DISTINCT FROM gridgov_status_step(to_status)
      THEN current
    WHEN gridgov_step_seconds(c, gridgov_status_step(to_status)) IS NOT NULL
      THEN gridgov_deadline(start, gridgov_step_seconds(c, gridgov_status_step(to_status)),
                            gridgov_step_working(c, gridgov_status_step(to_status)), area)
    WHEN current IS NOT NULL THEN current
    ELSE gridgov_deadline(start, c.time_limit_hours * 3600, c.handling_working, area)
  END
$$;
"""

DROP = ("gridgov_event_due(event_categories, text, text, timestamptz, text, timestamptz)",
        "gridgov_due_working(event_categories, text)",
        "gridgov_step_working(event_categories, text)",
        "gridgov_step_seconds(event_categories, text)", "gridgov_status_step(text)",
        "gridgov_elapsed(timestamptz, timestamptz, boolean, text)",
        "gridgov_deadline(timestamptz, float8, boolean, text)",
        "gridgov_working_deadline(timestamptz, float8, text)",
        "gridgov_working_clock(int, timestamptz)", "gridgov_calendar_id(text)",
        "gridgov_rebuild_work_periods(int)")
TS = sa.DateTime(timezone=True)
STEP_COLUMNS = ("dispatch_limit_hours", "dispatch_working", "handling_working",
                "verification_limit_hours", "verification_working")


def _fk(table: str, column: str, target: str) -> sa.ForeignKey:
    return sa.ForeignKey(f"{target}.id", ondelete="CASCADE",
                         name=f"fk_{table}_{column}_{target}")


def _tables() -> None:
    op.create_table(
        "work_calendars",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("district_code", sa.String(12), nullable=True),
        sa.Column("is_default", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("timezone", sa.String(64), nullable=False, server_default="Asia/Shanghai"),
        sa.Column("first_year", sa.Integer(), nullable=False, server_default="2000"),
        sa.Column("last_year", sa.Integer(), nullable=False, server_default="2040"),
        sa.PrimaryKeyConstraint("id", name="pk_work_calendars"),
        sa.UniqueConstraint("code", name="uq_work_calendars_code"),
        sa.UniqueConstraint("district_code", name="uq_work_calendars_district_code"),
        sa.CheckConstraint("first_year <= last_year AND last_year - first_year < 100",
                           name="ck_work_calendars_years"),
    )
    op.create_index("ix_work_calendars_default", "work_calendars", ["is_default"],
                    unique=True, postgresql_where=sa.text("is_default"))
    op.create_table(
        "work_calendar_hours",
        sa.Column("calendar_id", sa.Integer(),
                  _fk("work_calendar_hours", "calendar_id", "work_calendars"), nullable=False),
        sa.Column("weekday", sa.SmallInteger(), nullable=False),
        sa.Column("starts", sa.Time(), nullable=False),
        sa.Column("ends", sa.Time(), nullable=False),
        sa.PrimaryKeyConstraint("calendar_id", "weekday", "starts",
                                name="pk_work_calendar_hours"),
        sa.CheckConstraint("weekday BETWEEN 1 AND 7", name="ck_work_calendar_hours_weekday"),
        sa.CheckConstraint("starts < ends", name="ck_work_calendar_hours_order"),
    )
    op.create_table(
        "work_calendar_days",
        sa.Column("calendar_id", sa.Integer(),
                  _fk("work_calendar_days", "calendar_id", "work_calendars"), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("source", sa.String(32), nullable=False, server_default="manual"),
        sa.PrimaryKeyConstraint("calendar_id", "day", name="pk_work_calendar_days"),
        sa.CheckConstraint("kind IN ('holiday', 'workday')", name="ck_work_calendar_days_kind"),
    )
    op.create_table(
        "work_periods",
        sa.Column("calendar_id", sa.Integer(),
                  _fk("work_periods", "calendar_id", "work_calendars"), nullable=False),
        sa.Column("starts_at", TS, nullable=False),
        sa.Column("ends_at", TS, nullable=False),
        sa.Column("working_before", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("calendar_id", "starts_at", name="pk_work_periods"),
    )
    op.create_index("ix_work_periods_working_before", "work_periods",
                    ["calendar_id", "working_before"])
    op.create_table(
        "deadline_requests",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.BigInteger(),
                  _fk("deadline_requests", "event_id", "events"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("hours", sa.Float(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("requested_by", sa.Text(), nullable=True),
        sa.Column("requested_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("decided_by", sa.Text(), nullable=True),
        sa.Column("decided_at", TS, nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("working", sa.Boolean(), nullable=True),
        sa.Column("remaining_seconds", sa.Float(), nullable=True),
        sa.Column("resumed_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_deadline_requests"),
        sa.CheckConstraint("kind IN ('pause', 'extension')", name="ck_deadline_requests_kind"),
        sa.CheckConstraint("status IN ('pending', 'approved', 'refused')",
                           name="ck_deadline_requests_status"),
    )
    op.create_index("ix_deadline_requests_event_id", "deadline_requests", ["event_id"])
    op.create_index("ix_deadline_requests_pending", "deadline_requests", ["event_id"],
                    unique=True, postgresql_where=sa.text("status = 'pending'"))


def _default_calendar() -> None:
    """The default calendar: Monday to Friday 08:30-12:00 and 14:00-17:30, China's days."""
    import chinese_calendar

    op.execute("INSERT INTO work_calendars (code, name, is_default) "
               "VALUES ('default', '默认工作日历', true)")
    op.execute("INSERT INTO work_calendar_hours (calendar_id, weekday, starts, ends) "
               "SELECT c.id, d, s::time, e::time FROM work_calendars c, generate_series(1, 5) d, "
               "(VALUES ('08:30', '12:00'), ('14:00', '17:30')) AS h(s, e)")
    days = [(d, "holiday", n) for d, n in chinese_calendar.holidays.items() if d.weekday() < 5]
    days += [(d, "workday", n) for d, n in chinese_calendar.workdays.items() if d.weekday() >= 5]
    table = sa.table("work_calendar_days", sa.column("calendar_id"), sa.column("day"),
                     sa.column("kind"), sa.column("name"), sa.column("source"))
    cal = op.get_bind().execute(sa.text(
        "SELECT id FROM work_calendars WHERE code = 'default'")).scalar_one()
    op.bulk_insert(table, [{"calendar_id": cal, "day": d, "kind": k, "name": n,
                            "source": "chinese-calendar"} for d, k, n in sorted(days)])
    op.execute(f"SELECT gridgov_rebuild_work_periods({int(cal)})")


def upgrade() -> None:
    _tables()
    op.add_column("event_categories", sa.Column("dispatch_limit_hours", sa.Float()))
    op.add_column("event_categories", sa.Column("verification_limit_hours", sa.Float()))
    for step in ("dispatch", "handling", "verification"):
        op.add_column("event_categories", sa.Column(f"{step}_working", sa.Boolean(),
                                                    nullable=False, server_default=sa.false()))
    op.execute(FUNCTIONS)
    _default_calendar()


def downgrade() -> None:
    for signature in DROP:
        op.execute(f"DROP FUNCTION IF EXISTS {signature}")
    for column in STEP_COLUMNS:
        op.drop_column("event_categories", column)
    for table in ("deadline_requests", "work_periods", "work_calendar_days",
                  "work_calendar_hours", "work_calendars"):
        op.drop_table(table)
