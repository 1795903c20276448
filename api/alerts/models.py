"""The table of anomaly alerts (migration 0018): one row per grid, period and category."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Float, Integer, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from api.db.models import Base


class AnomalyAlert(Base):
    """A grid whose count in a period was abnormal for it; stored once, acknowledged once."""

    __tablename__ = "anomaly_alerts"
    __table_args__ = (UniqueConstraint("layer", "grid_code", "period", "category",
                                       name="uq_anomaly_alerts_key",
                                       postgresql_nulls_not_distinct=True),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    layer: Mapped[str] = mapped_column(String(64))
    grid_code: Mapped[str] = mapped_column(String(32), index=True)
    #: the period tested, as the analytics name it (``2026-11-23/2026-11-29`` for a week)
    period: Mapped[str] = mapped_column(String(32))
    category: Mapped[str | None] = mapped_column(String(16))
    #: the grid's community: its responsible people are told
    area_code: Mapped[str | None] = mapped_column(String(12))
    count: Mapped[int] = mapped_column(Integer)
    expected: Mapped[float] = mapped_column(Float)
    severity: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True),
                                                 server_default=func.now())
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    acknowledged_by: Mapped[str | None] = mapped_column(Text)
