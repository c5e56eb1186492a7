"""Settings for every role, read from the environment at start-up (never at import)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from mp3converter.domain.limits import MediaLimits
from mp3converter.domain.quotas import Quota
from mp3converter.domain.retention import DAY, Retention
from mp3converter.domain.throttling import ThrottlePolicy
from mp3converter.domain.webhook_retries import DEFAULT_SCHEDULE, RetrySchedule, parse_schedule
from mp3converter.domain.webhook_targets import TargetPolicy
from mp3converter.production import DEV_LINK_SIGNING_KEYS, production_problems

# Each role's HTTP port when HTTP_PORT is not set; the default URLs between roles follow it.
ROLE_PORTS: dict[str, int] = {
    "gateway": 8080,
    "auth": 8081,
    "upload": 8082,
    "converter": 8083,
    "notification": 8084,
}

# Health, readiness and metrics live on a second listener that no ingress routes to.
OPS_PORT_OFFSET = 1000


def _local(role: str) -> str:
    return f"http://127.0.0.1:{ROLE_PORTS[role]}"


class Environment(StrEnum):
    """Where the platform runs: development allows local-only defaults, production refuses them."""

    DEVELOPMENT = "development"
    PRODUCTION = "production"


Port = Annotated[int, Field(ge=1, le=65535)]


class Settings(BaseSettings):
    """One settings object shared by all roles; each role reads the part it needs."""

    # hide_input_in_errors: a refused start-up must not print the secrets it was given.
    model_config = SettingsConfigDict(
        env_file=None, extra="ignore", frozen=True, hide_input_in_errors=True
    )

    environment: Environment = Environment.DEVELOPMENT
    # The role this process runs, set by `mp3converter run ROLE`; production checks follow it.
    role: str | None = Field(None, exclude=True)
    log_level: str = "INFO"
    # JSON lines for log collectors; `make run` sets "text" for people (README: Logs and traces).
    log_format: Literal["json", "text"] = "json"
    # Where spans are exported (OTLP over HTTP, the standard variable); unset: not exported.
    otel_exporter_otlp_endpoint: str | None = None
    data_dir: Path = Path(".data")

    # HTTP listener of this process (each role has its own default port, ROLE_PORTS).
    http_host: str = "127.0.0.1"
    http_port: Port | None = None
    # The ops listener (/healthz, /readyz, /metrics): probes and Prometheus, never the public.
    ops_port: Port | None = None
    # Proxies whose X-Forwarded-For names the real client (the ingress controller, for the
    # gateway's login throttling); a comma-separated list of addresses, or "*".
    forwarded_allow_ips: str = "127.0.0.1"

    mongodb_url: str = "mongodb://127.0.0.1:27017/?directConnection=true"
    mongodb_db: str = "mp3converter"
    amqp_url: SecretStr = SecretStr("amqp://guest:guest@127.0.0.1:5672/")
    broker_prefix: str = Field("mp3converter", pattern=r"^[A-Za-z0-9_.-]+$")

    # Where the gateway and the workers reach the internal roles.
    auth_url: str = _local("auth")
    upload_url: str = _local("upload")
    notification_url: str = _local("notification")
    public_base_url: str = _local("gateway")

    jwt_issuer: str = "mp3converter-auth"
    jwt_audience: str = "mp3converter"
    # Access tokens are short; refresh tokens (stored hashed) renew them.
    jwt_ttl_seconds: int = Field(900, ge=60, le=86400)
    refresh_token_ttl_seconds: int = Field(int(30 * DAY), ge=300)
    # Access tokens the gateway gets for an API key, and how long it reuses one (a revoked key
    # stops working within that time).
    api_key_token_ttl_seconds: int = Field(300, ge=120, le=3600)
    api_key_cache_seconds: float = Field(60.0, gt=0, le=60)
    jwt_private_key_file: Path | None = None
    jwks_cache_seconds: int = Field(300, ge=1)
    # How often the gateway and the upload role re-read the list of revoked users.
    revocation_refresh_seconds: float = Field(15.0, gt=0, le=60)

    # Signed download links: `key_id:secret,...`; the first signs, every one verifies.
    link_signing_keys: SecretStr = SecretStr(DEV_LINK_SIGNING_KEYS)
    download_link_ttl_seconds: int = Field(int(DAY), ge=60)

    # Login throttling (per account and per client address) and the argon2 concurrency cap.
    login_account_max_failures: int = Field(5, ge=1)
    login_client_max_failures: int = Field(20, ge=1)
    login_window_seconds: float = Field(900.0, gt=0)
    login_max_lock_seconds: float = Field(900.0, gt=0)
    password_hash_concurrency: int = Field(2, ge=1, le=64)
    password_hash_queue: int = Field(8, ge=0, le=1000)

    admin_email: str | None = None
    admin_password: SecretStr | None = None

    max_upload_bytes: int = Field(2 * 1024**3, ge=1)

    ffmpeg_bin: str = "ffmpeg"
    ffprobe_bin: str = "ffprobe"
    mp3_vbr_quality: int = Field(2, ge=0, le=9)
    duration_tolerance_seconds: float = Field(0.5, gt=0)
    delete_source_after_success: bool = True
    delivery_limit: int = Field(5, ge=1, le=100)
    work_dir: Path | None = None
    shutdown_grace_seconds: float = Field(25.0, ge=0)
    # Jobs one converter runs at once; unset: one per CPU it may use (affinity and cgroup quota).
    converter_concurrency: int | None = Field(None, ge=1, le=64)
    # A video converted while it uploads is given up when nothing of it arrives for this long.
    upload_stall_seconds: float = Field(120.0, gt=0)

    # What one job may cost; every ffmpeg/ffprobe child runs under these (README: Limits).
    probe_timeout_seconds: float = Field(30.0, gt=0)
    conversion_timeout_seconds: float = Field(3600.0, gt=0)
    max_media_seconds: float = Field(4 * 3600.0, gt=0)
    max_output_bytes: int = Field(1024**3, ge=1)
    child_memory_bytes: int = Field(2 * 1024**3, ge=64 * 1024**2)
    child_niceness: int = Field(10, ge=0, le=19)

    # Per-user quotas, checked at upload time.
    max_jobs_in_flight_per_user: int = Field(10, ge=1)
    max_stored_bytes_per_user: int = Field(20 * 1024**3, ge=1)

    # Retention: MP3s, then job records, expire; unfinished uploads and unreferenced files are
    # removed once older than the grace period (longer than any upload takes).
    mp3_retention_seconds: float = Field(7 * DAY, gt=0)
    job_retention_seconds: float = Field(30 * DAY, gt=0)
    orphan_grace_seconds: float = Field(DAY, gt=0)
    sweep_interval_seconds: float = Field(600.0, gt=0)

    smtp_host: str | None = None
    smtp_port: Port = 25
    smtp_from: str = "mp3converter <noreply@mp3converter.com>"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_tls: Literal["none", "starttls", "tls"] = "none"
    # CA bundle that signs the SMTP server's certificate, when it is not a public CA (private PKI).
    smtp_ca_file: Path | None = None
    smtp_timeout_seconds: float = Field(30.0, gt=0)
    outbox_dir: Path | None = None

    # Webhooks (the notification role): the delays between attempts of a delivery, how long
    # one attempt may take, failed deliveries in a row that disable an endpoint, endpoints a
    # user may have. An attempt must end well within its 60 s lease (usecases/webhook_delivery).
    webhook_retry_schedule: str = DEFAULT_SCHEDULE
    webhook_timeout_seconds: float = Field(10.0, gt=0, le=30)
    webhook_disable_after_failures: int = Field(5, ge=1)
    max_webhooks_per_user: int = Field(10, ge=1, le=1000)

    @field_validator("webhook_retry_schedule")
    @classmethod
    def _schedule_parses(cls, value: str) -> str:
        parse_schedule(value)
        return value

    @property
    def media_limits(self) -> MediaLimits:
        """What one conversion may cost."""
        return MediaLimits(
            probe_seconds=self.probe_timeout_seconds,
            conversion_seconds=self.conversion_timeout_seconds,
            max_media_seconds=self.max_media_seconds,
            max_output_bytes=self.max_output_bytes,
            child_memory_bytes=self.child_memory_bytes,
            child_niceness=self.child_niceness,
        )

    @property
    def login_policies(self) -> dict[str, ThrottlePolicy]:
        """Throttling of failed logins per account and per client address."""
        return {
            kind: ThrottlePolicy(most, self.login_window_seconds, self.login_max_lock_seconds)
            for kind, most in (
                ("account", self.login_account_max_failures),
                ("client", self.login_client_max_failures),
            )
        }

    @property
    def quota(self) -> Quota:
        """Per-user limits at upload time."""
        return Quota(self.max_jobs_in_flight_per_user, self.max_stored_bytes_per_user)

    @property
    def retention(self) -> Retention:
        """How long MP3s and job records are kept."""
        return Retention(self.mp3_retention_seconds, self.job_retention_seconds)

    @property
    def webhook_retries(self) -> RetrySchedule:
        """When a failed webhook delivery is tried again."""
        return RetrySchedule.parse(self.webhook_retry_schedule)

    @property
    def webhook_targets(self) -> TargetPolicy:
        """Where webhooks may go: in production, public addresses only."""
        return TargetPolicy(production=self.is_production)

    @property
    def listen_port(self) -> int:
        """HTTP_PORT, else the default port of this process's role."""
        if self.http_port is not None:
            return self.http_port
        return ROLE_PORTS[self._role_for_ports()]

    @property
    def listen_ops_port(self) -> int:
        """OPS_PORT, else the role's default port plus OPS_PORT_OFFSET."""
        if self.ops_port is not None:
            return self.ops_port
        return ROLE_PORTS[self._role_for_ports()] + OPS_PORT_OFFSET

    def _role_for_ports(self) -> str:
        if self.role is None:
            raise ValueError("a process without a role has no default port")
        return self.role

    @property
    def is_production(self) -> bool:
        """True when local-only defaults must be refused."""
        return self.environment is Environment.PRODUCTION

    @property
    def resolved_outbox_dir(self) -> Path:
        """Directory for .eml files when no SMTP server is configured."""
        return self.outbox_dir or self.data_dir / "outbox"

    @model_validator(mode="after")
    def _refuse_dev_defaults_in_production(self) -> Self:
        if not self.is_production:
            return self
        problems = production_problems(self)
        if problems:
            raise ValueError("refusing to start in production: " + "; ".join(problems))
        return self


def load_settings(role: str | None = None) -> Settings:
    """Read settings from the environment, checked for `role` (None: for every role)."""
    return Settings(role=role)
