"""Settings of the application, split by concern, all under the ``GRIDGOV_`` prefix.

``DATABASE_URL`` (no prefix, as most tools expect) selects an external server;
without it the embedded cluster under ``GRIDGOV_HOME`` is used.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class DatabaseSettings(BaseSettings):
    """Where the database is."""

    model_config = SettingsConfigDict(env_prefix="GRIDGOV_", extra="ignore")

    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "GRIDGOV_DATABASE_URL")
    )
    home: Path = Path(".gridgov")
    pool_size: int = 10
    #: statements of request connections (sessions, intake, tiles) are cancelled after
    #: this many milliseconds (answered 503 ``query_timeout``); 0: no limit
    statement_timeout_ms: int = Field(
        default=15_000, ge=0, validation_alias=AliasChoices("GRIDGOV_DB_STATEMENT_TIMEOUT_MS"))

    #: streaming replicas for tiles, OGC features, stats and analytics (comma-separated
    #: URLs; api/replicas); unset: everything reads the primary
    database_read_url: str | None = None

    def read_urls(self) -> tuple[str, ...]:
        """The replicas' SQLAlchemy URLs (``GRIDGOV_DATABASE_READ_URL``), in order.

        Examples
        --------
        >>> DatabaseSettings(database_read_url="postgresql://r1/d, postgres://r2/d").read_urls()
        ('postgresql+psycopg://r1/d', 'postgresql+psycopg://r2/d')
        """
        return tuple(normalise_url(u.strip()) for u in (self.database_read_url or "").split(",")
                     if u.strip())

    def resolved_url(self) -> str:
        """The SQLAlchemy URL: ``DATABASE_URL`` as given, else the embedded cluster's."""
        if self.database_url:
            return normalise_url(self.database_url)
        from api.db.embedded import EmbeddedCluster

        return EmbeddedCluster(self.home).url()


def _api(name: str) -> AliasChoices:
    """``GRIDGOV_API_{NAME}`` in the environment, ``name`` in code."""
    return AliasChoices(f"GRIDGOV_API_{name.upper()}", name)


class APISettings(BaseSettings):
    """How the web application behaves."""

    model_config = SettingsConfigDict(env_prefix="GRIDGOV_", extra="ignore")

    name: str = "gridgov"
    #: the address phones and other servers reach gridgov at (``https://grid.example.cn``),
    #: the base of plate QR URLs and of Open311 discovery; unset: the address each
    #: request came in on (``make demo PORT=8311`` plates point at port 8311)
    public_base_url: str | None = None
    page_size: int = 100
    max_page_size: int = 10_000
    timezone: str = "Asia/Shanghai"
    cors_origins: list[str] = []
    #: largest request body (bytes) of any route that is not multipart (JSON, forms)
    max_json_bytes: int = Field(default=1_000_000, validation_alias=_api("max_json_bytes"))
    #: largest body of ``POST /api/v1/assign`` (up to 100,000 points)
    max_assign_bytes: int = Field(default=16_000_000, validation_alias=_api("max_assign_bytes"))
    #: largest upload of a grid layer's new version (``POST /api/v1/grid-versions``)
    max_upload_bytes: int = Field(default=64_000_000, validation_alias=_api("max_upload_bytes"))
    #: deepest nesting of arrays and objects in a JSON body
    max_json_depth: int = Field(default=32, validation_alias=_api("max_json_depth"))
    #: public intake per client address (and per token): ``N/second|minute|hour|day``
    rate_limit_intake: str = Field(default="30/minute", validation_alias=_api("rate_limit_intake"))
    #: sign-in attempts per client address
    rate_limit_login: str = Field(default="10/minute", validation_alias=_api("rate_limit_login"))
    #: most client keys each rate limiter remembers (the least recently seen go first)
    rate_limit_max_keys: int = Field(default=100_000, validation_alias=_api("rate_limit_max_keys"))


    def base_url(self, request_base: str) -> str:
        """``public_base_url``, or ``request_base`` (where a request came in) when unset.

        Examples
        --------
        >>> APISettings(public_base_url=None).base_url("http://127.0.0.1:8311/")
        'http://127.0.0.1:8311'
        >>> APISettings(public_base_url="https://grid.example.cn/").base_url("http://10.0.0.5")
        'https://grid.example.cn'
        """
        return (self.public_base_url or request_base).rstrip("/")


class WebSettings(BaseSettings):
    """The one-map web client: an optional external basemap, where the npm assets are."""

    model_config = SettingsConfigDict(env_prefix="GRIDGOV_", extra="ignore")

    #: XYZ template of an external raster basemap (e.g. Tianditu); off when None.
    basemap_url: str | None = None
    basemap_attribution: str = ""
    #: where ``npm install`` put maplibre-gl and leaflet (default: the repo's node_modules)
    node_modules: Path | None = None
    #: how often the client polls for new events, in seconds
    live_poll_seconds: float = 2.0


class Open311Settings(BaseSettings):
    """The Open311 GeoReport v2 endpoint (``GRIDGOV_OPEN311_*``)."""

    model_config = SettingsConfigDict(env_prefix="GRIDGOV_OPEN311_", extra="ignore")

    jurisdiction_id: str = "gridgov"
    contact: str = "Grid management centre (网格化管理指挥中心)"
    key_service: str = "Ask the operator for a key (gridgov apikey create --name NAME)"
    changeset: str = "2026-11-22T00:00:00+08:00"
    window_days: int = 90
    max_requests: int = 1000
    #: show residents' descriptions (and photos given as web addresses) in GET requests
    public_details: bool = False


class EventSettings(BaseSettings):
    """Event workflow: duplicates, escalation, photos (``GRIDGOV_EVENTS_*``)."""

    model_config = SettingsConfigDict(env_prefix="GRIDGOV_EVENTS_", extra="ignore")

    duplicate_radius_m: float = 50.0
    duplicate_window_hours: float = 24.0
    escalation_delay_hours: float = 24.0
    escalation_interval_seconds: float = 300.0
    #: how often stored anomaly alerts are computed and notified (``api.alerts``; 0: off)
    anomaly_interval_seconds: float = Field(default=3600.0, ge=0)
    #: how often the status of reports forwarded to neighbours is polled (``api.handover``; 0: off)
    handover_poll_interval_seconds: float = Field(default=300.0, ge=0)
    #: the longest a poll waits for one neighbour's connection, and for each answer
    handover_poll_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    #: largest photo file (bytes), uploaded with a report or to the QR scan
    max_photo_bytes: int = 10_000_000
    #: most photos (files and URLs together) of one report
    max_photos: int = 6
    #: most pixels (width x height, read from the header before decoding) of a photo
    max_photo_pixels: int = 40_000_000
    photo_dir: Path | None = None


class AuthSettings(BaseSettings):
    """Sign-in: session length, cookie security, the throttle of failed sign-ins."""

    model_config = SettingsConfigDict(env_prefix="GRIDGOV_AUTH_", extra="ignore")

    #: how long a browser stays signed in
    session_hours: float = Field(default=12.0, gt=0, le=24 * 90)
    #: ``Secure`` session cookies: "auto" (when the request is https), true or false
    secure_cookies: Literal["auto"] | bool = "auto"
    #: believe ``X-Forwarded-Proto: https`` (only behind a proxy that sets it)
    trust_forwarded_proto: bool = False
    #: failed sign-ins allowed per account, and per client address, within the window
    max_failures_per_account: int = Field(default=5, ge=1)
    max_failures_per_address: int = Field(default=20, ge=1)
    failure_window_minutes: float = Field(default=15.0, gt=0)
    #: how long a user's expanded scope (areas below theirs, their grids' documents) is
    #: reused; their credential, role and the codes they are given count at the next request
    scope_cache_seconds: float = Field(default=30.0, ge=0, le=3600)
    #: how long the gate reuses who a token or session is (``api.auth.cache``): at most
    #: this long, and only while no user, token or session was changed; 0: ask every time
    credential_cache_seconds: float = Field(default=30.0, ge=0, le=3600)


class PersonalSettings(BaseSettings):
    """Where the key of personal data at rest is (``GRIDGOV_PERSONAL_*``).

    ``key``: a base64 secret of 32 bytes or more (``GRIDGOV_PERSONAL_KEY``; it
    cannot be rotated by ``gridgov keys rotate``); else ``key_file``
    (``GRIDGOV_PERSONAL_KEY_FILE``, must exist); else
    ``$GRIDGOV_HOME/keys/personal.key``, created on first use. A key file must
    be of mode 0600 (owner only), or nothing starts.
    """

    model_config = SettingsConfigDict(env_prefix="GRIDGOV_PERSONAL_", extra="ignore")

    key: SecretStr | None = None
    key_file: Path | None = None


class NotifySettings(BaseSettings):
    """Notifications: the delivery worker and the channels (``GRIDGOV_NOTIFY_*``)."""

    model_config = SettingsConfigDict(env_prefix="GRIDGOV_NOTIFY_", extra="ignore")

    #: run the delivery worker in the server (one per database holds the advisory lock)
    worker: bool = True
    poll_seconds: float = Field(default=2.0, gt=0)
    #: attempts before a notification is parked as a dead letter
    max_attempts: int = Field(default=6, ge=1)
    #: the wait after the first failure; doubled after each further one, up to the cap
    backoff_seconds: float = Field(default=30.0, gt=0)
    backoff_max_seconds: float = Field(default=3600.0, gt=0)
    #: seconds one channel call may take
    timeout_seconds: float = Field(default=10.0, gt=0)
    #: the language of messages to reporters
    reporter_language: Literal["zh", "en"] = "zh"
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_starttls: bool = False
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "gridgov@localhost"
    #: the HMAC-SHA256 key of signed webhooks (receivers hold the same)
    webhook_secret: SecretStr | None = None
    #: let configured URLs (webhooks, neighbours' endpoints) reach loopback and private
    #: addresses (``api.egress.guard``); off: such URLs are refused (SSRF)
    allow_internal_urls: bool = False
    sms_base_url: str | None = None
    sms_api_key: SecretStr | None = None
    wecom_base_url: str = "https://qyapi.weixin.qq.com"
    wecom_corp_id: str | None = None
    wecom_secret: SecretStr | None = None
    wecom_agent_id: int | None = None


class TileSettings(BaseSettings):
    """Tile serving (``GRIDGOV_TILES_*``): cache budget and client caching."""

    model_config = SettingsConfigDict(env_prefix="GRIDGOV_TILES_", extra="ignore")

    cache_bytes: int = Field(default=256 * 2**20, ge=0)
    #: tile queries running at once per worker (more only queue inside PostgreSQL)
    connections: int = Field(default=4, ge=1, le=64)
    max_age: int = Field(default=0, ge=0)

    def cache_control(self) -> str:
        """``no-cache`` (revalidate with the ETag) or ``public, max-age=N``."""
        return "no-cache" if self.max_age == 0 else f"public, max-age={self.max_age}"


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
class CameraSettings(BaseSettings):
    """Cameras' detections and heartbeats (``GRIDGOV_CAMERA_*``, ``api.camera_feed``)."""

    model_config = SettingsConfigDict(env_prefix="GRIDGOV_CAMERA_", extra="ignore")

    #: confidence from which a detection registers a case (a type may set its own)
    threshold: float = Field(default=0.8, ge=0, le=1)
    #: a repeat of a camera's detection type within this many seconds is a duplicate
    cooldown_seconds: float = Field(default=600.0, ge=0)
    #: a camera without a heartbeat for this long is marked offline by the sweep
    offline_after_seconds: float = Field(default=300.0, gt=0)
    #: how often the sweep runs (0: off)
    sweep_interval_seconds: float = Field(default=60.0, ge=0)


class AnalyticsSettings(BaseSettings):
    """The one-map's stored analyses, kept fresh on a schedule (``GRIDGOV_ANALYTICS_*``).

    ``api.analytics.scheduled`` computes the hot spots of the last
    ``refresh_window_days`` of events on ``refresh_cell`` and the blind spots of
    the cameras in ``refresh_layer`` every ``refresh_interval_seconds``; the
    ``hotspots`` and ``blind-spots`` layers draw what it stored.
    """

    model_config = SettingsConfigDict(env_prefix="GRIDGOV_ANALYTICS_", extra="ignore")

    #: how often the hot and blind spots are computed again (0: only on request)
    refresh_interval_seconds: float = Field(default=21600.0, ge=0)
    #: the cells of the hot spots (``h3:RES`` or ``grid:LAYER``)
    refresh_cell: str = Field(default="h3:9", max_length=64)
    #: the events of this many days before the run count
    refresh_window_days: int = Field(default=90, ge=1, le=3660)
    #: the grid layer whose grids' blind spots are computed
    refresh_layer: str = Field(default="basic", max_length=64)
    #: the smallest blind spot stored (m²)
    refresh_min_area_m2: float = Field(default=100.0, ge=0)
class ReportSettings(BaseSettings):
    """Scheduled reports (``GRIDGOV_REPORTS_*``, ``api.reports.scheduled``)."""

    model_config = SettingsConfigDict(env_prefix="GRIDGOV_REPORTS_", extra="ignore")

    #: area codes (district, street or community; comma-separated) whose previous month's
    #: and week's reports are written to ``GRIDGOV_HOME/reports/``; empty: none
    areas: str = ""
    #: the formats written for each area and period (comma-separated: pdf, xlsx)
    formats: str = "pdf,xlsx"
    #: how often the schedule looks for a period that has ended (0: off)
    interval_seconds: float = Field(default=3600.0, ge=0)

    def area_codes(self) -> tuple[str, ...]:
        """The configured area codes, in order.

        Examples
        --------
        >>> ReportSettings(areas="440307003, 440307").area_codes()
        ('440307003', '440307')
        """
        return tuple(c.strip() for c in self.areas.split(",") if c.strip())

    def format_names(self) -> tuple[str, ...]:
        """The configured formats, in order."""
        return tuple(f.strip().lower() for f in self.formats.split(",") if f.strip())


class Settings(BaseSettings):
    """All settings; tests build apps with their own instance."""

    model_config = SettingsConfigDict(extra="ignore")

    db: DatabaseSettings = Field(default_factory=DatabaseSettings)
    api: APISettings = Field(default_factory=APISettings)
    events: EventSettings = Field(default_factory=EventSettings)
    open311: Open311Settings = Field(default_factory=Open311Settings)
    web: WebSettings = Field(default_factory=WebSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    personal: PersonalSettings = Field(default_factory=PersonalSettings)
    notify: NotifySettings = Field(default_factory=NotifySettings)
    field: FieldSettings = Field(default_factory=FieldSettings)
    tiles: TileSettings = Field(default_factory=TileSettings)
    camera: CameraSettings = Field(default_factory=CameraSettings)
    analytics: AnalyticsSettings = Field(default_factory=AnalyticsSettings)
    reports: ReportSettings = Field(default_factory=ReportSettings)


def normalise_url(url: str) -> str:
    """Make a ``postgresql://`` URL use the psycopg 3 driver, leave others unchanged.

    Examples
    --------
    >>> normalise_url("postgresql://u@h/db")
    'postgresql+psycopg://u@h/db'
    >>> normalise_url("postgres://u@h/db")
    'postgresql+psycopg://u@h/db'
    """
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def libpq_url(url: str) -> str:
    """The ``postgresql://`` form of a PostgreSQL URL (what ``psql`` and libpq accept).

    Examples
    --------
    >>> libpq_url("postgresql+psycopg://u:p@127.0.0.1:5432/db")
    'postgresql://u:p@127.0.0.1:5432/db'
    >>> libpq_url("postgres://u@h/db")
    'postgresql://u@h/db'
    """
    return re.sub(r"^postgres(?:ql)?(?:\+\w+)?://", "postgresql://", url, count=1)
