"""Settings for every role, read from the environment at start-up (never at import)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Values that are only acceptable on a developer's machine.
DEV_BROKER_CREDENTIALS = "guest:guest@"
WEAK_PASSWORDS = frozenset({"admin", "password", "changeme", "secret", "guest"})
MIN_ADMIN_PASSWORD = 12
BROKER_ROLES = ("upload", "converter", "notification")


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
    data_dir: Path = Path(".data")

    # HTTP listener of this process (each role has its own default port, see roles.py).
    http_host: str = "127.0.0.1"
    http_port: Port | None = None

    mongodb_url: str = "mongodb://127.0.0.1:27017/?directConnection=true"
    mongodb_db: str = "mp3converter"
    amqp_url: SecretStr = SecretStr("amqp://guest:guest@127.0.0.1:5672/")
    broker_prefix: str = Field("mp3converter", pattern=r"^[A-Za-z0-9_.-]+$")

    # Where the gateway and the workers reach the internal roles.
    auth_url: str = "http://127.0.0.1:8081"
    upload_url: str = "http://127.0.0.1:8082"
    public_base_url: str = "http://127.0.0.1:8080"

    jwt_issuer: str = "mp3converter-auth"
    jwt_audience: str = "mp3converter"
    jwt_ttl_seconds: int = Field(3600, ge=60, le=86400)
    jwt_private_key_file: Path | None = None
    jwks_cache_seconds: int = Field(300, ge=1)

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
    conversion_timeout_seconds: float = Field(3600.0, gt=0)
    shutdown_grace_seconds: float = Field(25.0, ge=0)

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
        problems = self._production_problems()
        if problems:
            raise ValueError("refusing to start in production: " + "; ".join(problems))
        return self

    def _production_problems(self) -> list[str]:
        """What this role (or, with no role, any role) would run with that is unsafe."""

        def needs(*roles: str) -> bool:
            return self.role is None or self.role in roles

        problems = []
        if needs(*BROKER_ROLES) and DEV_BROKER_CREDENTIALS in self.amqp_url.get_secret_value():
            problems.append("AMQP_URL uses the guest:guest development credentials")
        if needs("auth") and self.jwt_private_key_file is None:
            problems.append("JWT_PRIVATE_KEY_FILE must name the signing key (no generated key)")
        if needs("auth") and self.admin_password is not None:
            password = self.admin_password.get_secret_value()
            if len(password) < MIN_ADMIN_PASSWORD or password.lower() in WEAK_PASSWORDS:
                problems.append(
                    f"ADMIN_PASSWORD must be a strong password of {MIN_ADMIN_PASSWORD}+ chars"
                )
        if needs("notification") and self.smtp_host is None:
            problems.append("SMTP_HOST must be set (the local .eml outbox is for development)")
        if needs("notification") and not self.public_base_url.startswith("https://"):
            problems.append("PUBLIC_BASE_URL must be https://")
        return problems


def load_settings(role: str | None = None) -> Settings:
    """Read settings from the environment, checked for `role` (None: for every role)."""
    return Settings(role=role)
