"""Settings of the field app (``GRIDGOV_TRACK_*``, ``GRIDGOV_CHECKIN_*``, ``GRIDGOV_FIELD_*``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class FieldSettings(BaseSettings):
    """Patrol tracks (noise rule, retention), check-ins, coverage."""

    model_config = SettingsConfigDict(env_prefix="GRIDGOV_", extra="ignore")

    #: track points older than this many days are deleted by the retention job
    track_retention_days: int = Field(default=180, ge=1)
    #: how often the retention job runs in the server, seconds (0: off)
    track_retention_interval_seconds: float = Field(default=3600.0, ge=0)
    #: the noise rule (gis_core.tracks): worst accuracy kept, fastest speed, largest spike
    track_max_accuracy_m: float = Field(default=50.0, gt=0)
    track_max_speed_mps: float = Field(default=12.0, gt=0)
    track_max_jump_m: float = Field(default=100.0, gt=0)
    #: a pause longer than this (no fix) is a gap no coverage or time is assumed across
    track_max_gap_s: float = Field(default=300.0, gt=0)
    #: most points in one upload
    track_max_batch: int = Field(default=5000, ge=1, le=100_000)
    #: a check-in farther than this from the building's footprint is flagged (not refused)
    checkin_flag_distance_m: float = Field(default=50.0, ge=0)
    #: the grid layer tracks, check-ins and coverage are counted in
    field_grid_layer: str = "basic"
    #: a stay within this radius for at least ``field_idle_minutes`` is an idle period
    field_idle_radius_m: float = Field(default=30.0, gt=0)
    field_idle_minutes: float = Field(default=10.0, gt=0)
