"""One Settings class. Every setting is read from the environment with the prefix ``HAZARD_``."""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from collections.abc import Callable
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from cryptography.fernet import Fernet
from fastapi import Depends, Request
from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import URL


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HAZARD_", env_file=".env", extra="ignore")

    data_dir: Path = Path("var")
    # Where the generated JWT secret and complaint key are kept (when not given as settings). Defaults to
    # data_dir; put it on another volume so a copy of the data (a backup, a stolen disk) is not also its key.
    keys_dir: Path | None = None
    # Empty means "an SQLite file inside data_dir": the embedded default. Or give the parts (db_host …): a
    # password with "@", "/" or ":" needs no escaping then (the URL is composed with sqlalchemy's URL.create).
    database_url: str = ""
    db_host: str = ""
    db_port: int | None = None
    db_user: str = ""
    db_password: str = ""
    db_name: str = ""
    db_driver: str = "postgresql+psycopg"
    # Connections a worker keeps open per pool, and how many more it may open in a burst (closed again when
    # returned). On PostgreSQL a worker has two pools (``db.autocommit``): its transactions', and an autocommit
    # one for the read-only routes, the county counter and the rate limiter. An endpoint holds at most one of
    # each at once, and at most ``threads`` (below) endpoints run at once, so 16 per pool leaves room for
    # threads raised to 16; with fewer kept, each burst opened connections that were closed on return, and a
    # new connection has no prepared statements (2.5 ms to plan the report's references afresh). At most 40
    # per worker, as before, so two workers stay inside PostgreSQL's default max_connections of 100.
    database_pool_size: int = Field(16, ge=1)
    database_max_overflow: int = Field(4, ge=0)
    # How long a request waits for a connection when all of a pool's are in use; then it is answered 503
    # ``database_busy`` with Retry-After.
    database_pool_timeout: float = Field(30.0, gt=0, le=300)
    # On PostgreSQL the hot API routes (``db.on_loop``: report, transition, reading and listing hazards) run on
    # the event loop through asyncpg, with two pools more of the sizes above (``db.make_loop_engine``); the
    # rest run in threads through psycopg. Each pool keeps about as many connections open as endpoints ran at
    # once (``threads``), so 4 x 8 a worker in practice (and up to 4 for the console's figures). false runs every
    # route in threads.
    database_loop: bool = True
    # How many of a worker's requests run their endpoint (and so their transaction) at once; the others wait their
    # turn on the event loop. anyio's default is 40. With 16 requests in flight in a worker, 16 threads took turns
    # at the interpreter's lock and 16 transactions took turns at PostgreSQL's pages and locks: a report cost
    # ~20 % more CPU in the worker and ~25 % more in PostgreSQL than with 4 to 8 at a time (benchmarks/RESULTS.md
    # "threads"). A request that waits on something slow (a large export) holds its thread as long.
    threads: int = Field(8, ge=1, le=200)
    # How long a worker reuses a signed-in user's rights, the escalation rules and the holiday tables it read
    # (see cache.py); a change made through a worker is seen by it at once, by the others within this bound.
    # 0 reads them from the database on every request.
    cache_seconds: float = Field(5.0, ge=0, le=300)
    # ``serve`` writes one access-log line per request (uvicorn's), on by default: the first thing an operator reads
    # when something goes wrong, for ≈0.02 ms of CPU a line (under 1 % of an API call). Off behind a proxy that
    # already logs every request, and when benchmarking beside a server that logs nothing.
    access_log: bool = True
    # FastAPI's own OpenTelemetry spans, metrics and logs, for a process where a provider is configured (by
    # ``opentelemetry-instrument`` or an SDK set up before the app). Off, FastAPI no longer looks for a provider
    # at every request: ≈0.02 ms of CPU, 2 % of a read, spent although this project configures none.
    opentelemetry: bool = False
    jwt_secret: str = ""
    jwt_ttl_minutes: int = 8 * 60
    attachments_dir: Path | None = None
    attachment_max_bytes: int = 20 * 1024 * 1024
    attachment_types: list[str] = Field(
        default=[
            "image/jpeg",
            "image/png",
            "image/webp",
            "image/heic",
            "application/pdf",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ]
    )
    idempotency_ttl_hours: int = 24
    # The web console's session: signed with a key derived from jwt_secret; it ends after this many minutes
    # without a request (the user is then asked to sign in again: 会话已过期，请重新登录).
    console_session_minutes: int = Field(120, ge=1)
    # The escalation sweep: seconds between sweeps (``hazard-registry worker`` and the in-process loop), and
    # whether ``serve`` runs the loop itself: "auto" does on the embedded SQLite default and leaves a
    # PostgreSQL deployment to its worker processes.
    sweep_interval_seconds: float = 300
    serve_sweep: str = Field("auto", pattern="^(auto|on|off)$")
    # Fernet keys for reporters' identities, comma-separated, newest first (the first encrypts, all decrypt).
    # Empty means a key generated once into data_dir, like the JWT secret.
    complaint_keys: str = ""
    complaint_file_max_bytes: int = 10 * 1024 * 1024
    complaint_files_per_complaint: int = 20
    # Images: the most pixels a complaint photo may have once decoded (a JPEG larger than this is decoded at
    # 1/2, 1/4 or 1/8 scale instead; other formats are refused), and the most a hazard attachment may
    # declare (those are stored as sent, but whoever opens one decodes every pixel).
    complaint_image_max_pixels: int = 24_000_000
    attachment_image_max_pixels: int = 40_000_000
    # Where abuse limits are counted (see ratelimit.py): auto (the database on PostgreSQL, memory on SQLite),
    # memory (this process only), database, or a `limits` storage URL such as redis://host:6379.
    rate_limit_storage: str = "auto"
    # Proxies whose X-Forwarded-For is believed, comma-separated addresses or networks (e.g. "10.0.0.2,
    # 172.18.0.0/16"). Empty: none, the TCP peer is the client.
    trusted_proxies: str = ""
    # Failed logins, as "count/seconds", per account and per client address; past either, 429 until the
    # window ends. A successful login clears the account's count.
    login_rate_account: str = "5/900"
    login_rate_address: str = "30/900"
    # Rate limits of the public desk, as "count/seconds": new complaints per client address, reads and
    # writes per receipt, wrong receipts per client address. Counted in rate_limit_storage.
    complaint_rate_submit: str = "10/3600"
    complaint_rate_receipt: str = "60/60"
    complaint_rate_bad_receipt: str = "10/900"
    complaint_bad_receipt_delay_ms: int = 500
    # Open311 GeoReport v2 (open311/): the texts of the discovery document, the jurisdiction_id this endpoint
    # answers to (empty: it serves one jurisdiction and ignores the parameter), whether it is the production or
    # a test endpoint, and per partner key the requests allowed and, per client address, the wrong keys
    # allowed ("count/seconds", counted in rate_limit_storage).
    open311_contact: str = "请联系本级应急管理部门信息化机构 Contact the emergency-management bureau's IT office"
    open311_key_service: str = (
        "由本地区系统管理员在“管理 → Open311 接入”中发放 Keys are issued by the region's administrator"
    )
    open311_jurisdiction_id: str = ""
    open311_endpoint_type: str = Field("production", pattern="^(production|test)$")
    open311_rate_key: str = "600/60"
    open311_rate_bad_key: str = "20/900"
    # Hazards found on or before this day are the campaign's stock (存量); later ones its increment (增量).
    campaign_cutoff: date = date(2023, 12, 31)
    # The campaign's first stage: the stock is to be cleared (every stock hazard closed) by this day.
    campaign_stock_due: date = date(2024, 12, 31)
    # Ledger imports: the most rows read from a file, and the most an XLSX (a zip) may unpack to; both are
    # checked before the file is parsed.
    import_max_rows: int = 20000
    import_max_unzipped_bytes: int = 64 * 1024 * 1024
    # Notices (notices/): a channel is on when configured. The webhook POSTs JSON signed with the secret;
    # e-mail goes over SMTP. A notice that fails is retried after backoff × 2^(attempts-1), and becomes a
    # dead letter (for an administrator to retry) after max_attempts. A claimed notice is someone's for
    # lease_seconds: if that worker dies, another sends it again after that (receivers deduplicate).
    notice_webhook_url: str = ""
    notice_webhook_secret: str = ""
    notice_webhook_timeout: float = 10.0
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    smtp_from: str = "hazard-registry@localhost"
    smtp_timeout: float = 10.0
    notice_max_attempts: int = Field(8, ge=1)
    notice_backoff_seconds: int = Field(60, ge=1)
    notice_lease_seconds: int = Field(300, ge=1)
    # Single sign-on (OpenID Connect, auth/oidc.py): on when the issuer is set. The discovery document is read
    # from <issuer>/.well-known/openid-configuration; our redirect URIs to register at the provider are
    # <site>/login/oidc/callback (the console) and <site>/api/v1/auth/oidc/callback (API clients).
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: str = ""
    oidc_scopes: str = "openid profile email"
    # The claim that names the user at the provider; a link is (issuer, that claim's value).
    oidc_subject_claim: str = "sub"
    # The provider's name on the sign-in button: 使用统一身份认证登录 (<name>).
    oidc_display_name: str = "统一身份认证"
    # Roles that may not sign in with a password (comma-separated: enterprise, regulator, admin); they sign
    # in through the provider only. /auth/token and the console's /login answer 403 password_login_disabled.
    password_login_disabled_roles: str = ""
    # Upward reporting (upward/): this deployment's id, as the level above registered it; where its region
    # reports go (the upper deployment's POST /api/v1/upward/reports) and the secret they are signed with
    # (given by the upper deployment's administrator). Reports travel the notice outbox (channel "upward").
    deployment_id: str = Field("", pattern=r"^([a-z0-9][a-z0-9._-]{1,63})?$")
    upward_url: str = ""
    upward_secret: str = ""
    # The worker pushes the last quarter's report of each of these regions (comma-separated) this many
    # working days after the quarter ends (in China); empty regions or no days: only administrators push.
    upward_regions: str = ""
    upward_push_after_working_days: int | None = Field(None, ge=0, le=60)
    # The accepted age of a received report's X-Hazard-Timestamp (either way), in seconds.
    upward_max_skew_seconds: int = Field(300, ge=1, le=3600)
    # Fernet keys for the downstream deployments' secrets kept by an upper deployment, comma-separated, newest
    # first (the first encrypts, all decrypt). Empty means a key generated once into keys_dir.
    upward_keys: str = ""

    @model_validator(mode="after")
    def _webhook_needs_a_secret(self) -> Settings:
        if self.notice_webhook_url and not self.notice_webhook_secret:
            raise ValueError("HAZARD_NOTICE_WEBHOOK_URL needs HAZARD_NOTICE_WEBHOOK_SECRET to sign its requests")
        if self.upward_url and not (self.upward_secret and self.deployment_id):
            raise ValueError("HAZARD_UPWARD_URL needs HAZARD_UPWARD_SECRET and HAZARD_DEPLOYMENT_ID")
        return self

    @model_validator(mode="after")
    def _oidc_needs_a_client(self) -> Settings:
        if self.oidc_issuer and not self.oidc_client_id:
            raise ValueError("HAZARD_OIDC_ISSUER needs HAZARD_OIDC_CLIENT_ID")
        return self

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_issuer)

    @property
    def password_login_disabled_for(self) -> frozenset[str]:
        return frozenset(r.strip() for r in self.password_login_disabled_roles.split(",") if r.strip())

    @property
    def upward_region_codes(self) -> list[str]:
        return [c.strip() for c in self.upward_regions.split(",") if c.strip()]

    @property
    def sweeps_in_serve(self) -> bool:
        if self.serve_sweep == "auto":
            return self.effective_database_url.startswith("sqlite")
        return self.serve_sweep == "on"

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        if self.db_host:
            url = URL.create(
                self.db_driver,
                username=self.db_user or None,
                password=self.db_password or None,
                host=self.db_host,
                port=self.db_port,
                database=self.db_name or None,
            )
            return url.render_as_string(hide_password=False)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{(self.data_dir / 'hazard_registry.db').resolve()}"

    @property
    def effective_attachments_dir(self) -> Path:
        return self.attachments_dir or self.data_dir / "attachments"

    @property
    def effective_keys_dir(self) -> Path:
        return self.keys_dir or self.data_dir

    @property
    def effective_jwt_secret(self) -> str:
        """The configured secret, or one generated once and kept in keys_dir so tokens survive restarts."""
        if self.jwt_secret:
            return self.jwt_secret
        return key_file(self.effective_keys_dir / "jwt-secret", lambda: secrets.token_urlsafe(48))

    @property
    def effective_complaint_keys(self) -> list[str]:
        if self.complaint_keys:
            return [k.strip() for k in self.complaint_keys.split(",") if k.strip()]
        return [key_file(self.effective_keys_dir / "complaint-key", lambda: Fernet.generate_key().decode())]

    @property
    def effective_upward_keys(self) -> list[str]:
        if self.upward_keys:
            return [k.strip() for k in self.upward_keys.split(",") if k.strip()]
        return [key_file(self.effective_keys_dir / "upward-key", lambda: Fernet.generate_key().decode())]


def key_file(path: Path, make: Callable[[], str]) -> str:
    """The secret kept in ``path``, made by ``make`` the first time. Safe when several processes start at once:
    the secret is written to a private temporary file that is then hard-linked into place, which fails if
    another process got there first; everyone then reads the one file that won."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # created 0600
        try:
            with os.fdopen(fd, "w") as f:
                f.write(make())
                f.flush()
                os.fsync(f.fileno())
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        finally:
            os.unlink(tmp)
    return path.read_text().strip()


@lru_cache
def get_settings() -> Settings:
    return Settings()


def app_settings(request: Request) -> Settings:
    """The settings the app was created with (``create_app(settings)``; tests pass their own)."""
    return request.app.state.settings


# The one way a route reads settings. Outside a request (CLI, worker) the caller passes Settings explicitly,
# or uses ``get_settings()`` for the environment's.
AppSettings = Annotated[Settings, Depends(app_settings)]
