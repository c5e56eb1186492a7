"""Settings: development defaults, and production refusing every local-only default."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from mp3converter.config import Environment, Settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings read only what each test sets, not the developer's shell."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """A complete, acceptable production environment; tests spoil one variable each."""
    key = tmp_path / "jwt.pem"
    key.write_text("not read by Settings")
    key.chmod(0o400)
    for name, value in {
        "ENVIRONMENT": "production",
        "AMQP_URL": "amqp://mp3c:s3cr3t-broker-pass@rabbitmq:5672/",
        "JWT_PRIVATE_KEY_FILE": str(key),
        "ADMIN_EMAIL": "admin@mp3converter.com",
        "ADMIN_PASSWORD": "correct horse battery staple",
        "SMTP_HOST": "smtp.mp3converter.com",
        "PUBLIC_BASE_URL": "https://mp3converter.com",
        "MONGODB_URL": "mongodb://upload:Xq9-long-db-password@mongo:27017/mp3converter",
        "LINK_SIGNING_KEYS": "k2:" + "s" * 40 + ",k1:" + "t" * 40,
    }.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def test_development_defaults() -> None:
    settings = Settings()
    assert settings.environment is Environment.DEVELOPMENT
    assert not settings.is_production
    assert settings.amqp_url.get_secret_value() == "amqp://guest:guest@127.0.0.1:5672/"
    assert settings.jwt_private_key_file is None
    assert settings.smtp_host is None
    assert settings.public_base_url == "http://127.0.0.1:8080"
    assert settings.resolved_outbox_dir == Path(".data") / "outbox"
    assert settings.delivery_limit == 5


def test_development_accepts_a_weak_admin_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMIN_PASSWORD", "admin")
    assert Settings().admin_password is not None


def test_environment_variables_override_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTP_PORT", "2525")
    monkeypatch.setenv("OUTBOX_DIR", "/tmp/outbox")
    settings = Settings()
    assert settings.smtp_port == 2525
    assert settings.resolved_outbox_dir == Path("/tmp/outbox")


def test_complete_production_config_is_accepted(production: pytest.MonkeyPatch) -> None:
    settings = Settings()
    assert settings.is_production
    assert settings.smtp_host == "smtp.mp3converter.com"


def test_production_without_admin_password_is_accepted(production: pytest.MonkeyPatch) -> None:
    production.delenv("ADMIN_PASSWORD")
    assert Settings().admin_password is None


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("AMQP_URL", "amqp://guest:guest@rabbitmq:5672/", "AMQP_URL"),
        ("JWT_PRIVATE_KEY_FILE", None, "JWT_PRIVATE_KEY_FILE"),
        ("ADMIN_PASSWORD", "short", "ADMIN_PASSWORD"),
        ("ADMIN_PASSWORD", "changeme", "ADMIN_PASSWORD"),
        ("ADMIN_PASSWORD", "Password", "ADMIN_PASSWORD"),
        ("ADMIN_PASSWORD", "change-me-admin-password", "ADMIN_PASSWORD"),
        ("AMQP_URL", "amqp://mp3c:change-me-broker@rabbitmq:5672/", "AMQP_URL"),
        ("AMQP_URL", "amqp://mp3c:rabbitmq@rabbitmq:5672/", "AMQP_URL"),
        ("MONGODB_URL", "mongodb://upload:change-me-upload@mongo:27017/", "MONGODB_URL"),
        ("MONGODB_URL", "mongodb://root:example@mongo:27017/", "MONGODB_URL"),
        ("LINK_SIGNING_KEYS", None, "LINK_SIGNING_KEYS"),
        ("LINK_SIGNING_KEYS", "k1:short", "LINK_SIGNING_KEYS"),
        ("LINK_SIGNING_KEYS", "k1:change-me-link-signing-key-0123456789", "LINK_SIGNING_KEYS"),
        ("SMTP_HOST", None, "SMTP_HOST"),
        ("PUBLIC_BASE_URL", "http://mp3converter.com", "PUBLIC_BASE_URL"),
    ],
)
def test_production_refuses_a_dev_default(
    production: pytest.MonkeyPatch, variable: str, value: str | None, named: str
) -> None:
    if value is None:
        production.delenv(variable)
    else:
        production.setenv(variable, value)
    with pytest.raises(ValidationError, match=f"refusing to start in production: .*{named}"):
        Settings()


def test_production_lists_every_problem_at_once(production: pytest.MonkeyPatch) -> None:
    production.delenv("SMTP_HOST")
    production.setenv("PUBLIC_BASE_URL", "http://x")
    with pytest.raises(ValidationError) as info:
        Settings()
    message = str(info.value)
    assert "SMTP_HOST" in message
    assert "PUBLIC_BASE_URL" in message
    assert "AMQP_URL" not in message


def test_production_error_does_not_leak_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("ADMIN_PASSWORD", "tiny-secret")
    with pytest.raises(ValidationError) as info:
        Settings()
    assert "ADMIN_PASSWORD" in str(info.value)
    assert "tiny-secret" not in str(info.value)


@pytest.mark.parametrize(
    ("role", "unset", "refused"),
    [
        ("gateway", ["AMQP_URL", "JWT_PRIVATE_KEY_FILE", "SMTP_HOST", "ADMIN_PASSWORD"], False),
        ("auth", ["AMQP_URL", "SMTP_HOST"], False),
        ("auth", ["JWT_PRIVATE_KEY_FILE"], True),
        ("converter", ["JWT_PRIVATE_KEY_FILE", "SMTP_HOST"], False),
        ("converter", ["AMQP_URL"], True),
        ("upload", ["AMQP_URL"], True),
        ("notification", ["JWT_PRIVATE_KEY_FILE"], False),
        ("notification", ["SMTP_HOST"], True),
    ],
)
def test_production_checks_follow_the_role(
    production: pytest.MonkeyPatch, role: str, unset: list[str], refused: bool
) -> None:
    """Each role is refused only for the defaults it would really use."""
    for name in unset:
        production.delenv(name)
    if refused:
        with pytest.raises(ValidationError, match="refusing to start in production"):
            Settings(role=role)
    else:
        assert Settings(role=role).role == role


def test_production_refuses_a_signing_key_file_anyone_can_read(
    production: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    key = tmp_path / "open.pem"
    key.write_text("x")
    key.chmod(0o644)
    production.setenv("JWT_PRIVATE_KEY_FILE", str(key))
    with pytest.raises(ValidationError, match="JWT_PRIVATE_KEY_FILE is readable by every user"):
        Settings(role="auth")
    key.chmod(0o400)
    assert Settings(role="auth").jwt_private_key_file == key


def test_a_database_url_without_a_password_is_left_to_the_operator(
    production: pytest.MonkeyPatch,
) -> None:
    # x509 or IAM authentication carry no password in the URL.
    production.setenv(
        "MONGODB_URL", "mongodb+srv://cluster0.mongodb.net/?authMechanism=MONGODB-X509"
    )
    assert Settings(role="upload").is_production
