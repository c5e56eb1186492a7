"""compose.yaml: one image for every role, settings that exist, pinned images, no secret in git."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from mp3converter.adapters.mongo import ROLE_COLLECTIONS
from mp3converter.adapters.mongo_users import password_variable
from mp3converter.config import OPS_PORT_OFFSET, ROLE_PORTS
from tests.deploy.helpers import (
    COMPOSE_FILE,
    ENV_EXAMPLE,
    INTERPOLATION,
    LINK_SIGNING_ROLES,
    ROLE_NAMES,
    ROOT,
    SECRET_NAME,
    compose_text_without_escapes,
    env_example,
    environment,
    interpolate,
    load_compose,
    secret_parts,
    settings_env_names,
)

INFRASTRUCTURE = ("mongodb", "rabbitmq")
ALL_INTERFACES = {"", "0.0.0.0", "::", "[::]"}  # noqa: S104 (what the test looks for)
URL_CREDENTIALS = re.compile(r"://(?P<user>[^:/@\s]+):(?P<password>[^@\s]+)@")
# What each role connects to (README "Roles and their settings"): inside a container the
# defaults (127.0.0.1) would point at the role itself, so compose must set these.
ROLE_CONNECTIONS = {
    "gateway": {"AUTH_URL", "UPLOAD_URL", "NOTIFICATION_URL"},
    "auth": {"MONGODB_URL", "JWT_PRIVATE_KEY_FILE", "ADMIN_EMAIL", "ADMIN_PASSWORD"},
    "upload": {"MONGODB_URL", "AMQP_URL", "AUTH_URL"},
    "converter": {"MONGODB_URL", "AMQP_URL"},
    "notification": {"MONGODB_URL", "AMQP_URL", "PUBLIC_BASE_URL", "AUTH_URL"},
}
SERVICE_OF = {
    "MONGODB_URL": "mongodb",
    "AMQP_URL": "rabbitmq",
    "AUTH_URL": "auth",
    "UPLOAD_URL": "upload",
    "NOTIFICATION_URL": "notification",
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_compose()


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def test_compose_file_is_a_compose_spec_file(compose: dict[str, Any]) -> None:
    assert "version" not in compose, "the Compose spec has no `version:` key"
    assert set(ROLE_NAMES) | set(INFRASTRUCTURE) <= set(compose["services"])


def _docker_compose_available() -> bool:
    if shutil.which("docker") is None:
        return False
    probe = subprocess.run(
        ["docker", "compose", "version"], capture_output=True, text=True, check=False
    )
    return probe.returncode == 0


def test_docker_compose_accepts_the_file(tmp_path: Path) -> None:
    if not _docker_compose_available():
        pytest.skip("the docker compose plugin is not installed")
    # A throwaway project: .env from the example, a stand-in key file, nothing of the developer's.
    shutil.copy(COMPOSE_FILE, tmp_path / "compose.yaml")
    shutil.copy(ENV_EXAMPLE, tmp_path / ".env")
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "jwt-ed25519.pem").write_text("stand-in, never read by config\n")
    result = subprocess.run(
        ["docker", "compose", "-f", "compose.yaml", "--env-file", ".env", "config", "-q"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_every_role_runs_from_the_same_image(services: dict[str, dict[str, Any]]) -> None:
    images = {role: services[role].get("image") for role in ROLE_NAMES}
    assert len(set(images.values())) == 1, images
    assert all(images.values()), images
    assert any("build" in services[role] for role in ROLE_NAMES), "no role builds the image"


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_each_role_service_runs_its_role(services: dict[str, dict[str, Any]], role: str) -> None:
    assert services[role]["command"] == ["run", role]


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_role_environment_only_sets_real_settings(
    services: dict[str, dict[str, Any]], role: str
) -> None:
    unknown = set(environment(services[role])) - settings_env_names()
    assert not unknown, f"{role} sets variables no setting reads: {sorted(unknown)}"


def test_every_variable_compose_reads_is_in_env_example(
    services: dict[str, dict[str, Any]],
) -> None:
    values, commented = env_example()
    documented = set(values) | commented
    interpolated = {match[0] for match in INTERPOLATION.findall(compose_text_without_escapes())}
    passed_through = {
        name
        for service in services.values()
        for name, value in environment(service).items()
        if value is None
    }
    missing = (interpolated | passed_through) - documented
    assert not missing, f"not in .env.example: {sorted(missing)}"
    bare = re.findall(r"\$[A-Za-z_]", compose_text_without_escapes())
    assert not bare, "use ${NAME} (or $$ for a literal dollar), not $NAME"


def test_env_example_holds_placeholders_only() -> None:
    values, _ = env_example()
    secrets = {name: value for name, value in values.items() if SECRET_NAME.search(name)}
    assert secrets, ".env.example documents no password at all"
    real = {
        name
        for name, value in secrets.items()
        if not all(part.startswith("change-me") for part in secret_parts(name, value))
    }
    assert not real, f"values that are not change-me-… placeholders: {sorted(real)}"


def _image_reference(service: dict[str, Any]) -> str:
    values, _ = env_example()
    return interpolate(str(service["image"]), values)


@pytest.mark.parametrize("name", [*INFRASTRUCTURE, *ROLE_NAMES])
def test_images_are_pinned(services: dict[str, dict[str, Any]], name: str) -> None:
    reference = _image_reference(services[name])
    repository, _, tag = reference.rpartition("/")[2].partition(":")
    assert repository, reference
    assert "@sha256:" in reference or (tag and tag != "latest" and any(c.isdigit() for c in tag)), (
        f"{name}: image {reference!r} is not pinned to a version"
    )


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_role_sets_what_it_connects_to(services: dict[str, dict[str, Any]], role: str) -> None:
    env = environment(services[role])
    missing = ({"ENVIRONMENT"} | ROLE_CONNECTIONS[role]) - set(env)
    assert not missing, f"{role} does not set {sorted(missing)}"
    for name in ROLE_CONNECTIONS[role] & set(SERVICE_OF):
        assert f"//{SERVICE_OF[name]}:" in re.sub(r"//.*@", "//", env[name] or ""), name


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_role_health_check_uses_the_ready_command(
    services: dict[str, dict[str, Any]], role: str
) -> None:
    assert services[role]["healthcheck"]["test"] == ["CMD", "mp3converter", "ready", role]


@pytest.mark.parametrize("name", INFRASTRUCTURE)
def test_infrastructure_has_health_checks(services: dict[str, dict[str, Any]], name: str) -> None:
    test = services[name]["healthcheck"]["test"]
    assert test[0] in ("CMD", "CMD-SHELL"), test
    assert len(test) > 1, test


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_roles_start_after_what_they_use_is_healthy(
    services: dict[str, dict[str, Any]], role: str
) -> None:
    depends_on = services[role].get("depends_on")
    assert isinstance(depends_on, dict), f"{role}: depends_on must map services to conditions"
    for dependency, options in depends_on.items():
        assert options.get("condition") == "service_healthy", f"{role} -> {dependency}"
    needed = {SERVICE_OF[name] for name in ROLE_CONNECTIONS[role] if name in SERVICE_OF}
    if role != "gateway":
        needed.discard("auth")  # fetched lazily (JWKS); only the gateway's readiness needs it
    assert needed <= set(depends_on), f"{role} must wait for {sorted(needed - set(depends_on))}"


def _published_on_all_interfaces(port: str | int | dict[str, Any]) -> bool:
    if isinstance(port, dict):
        return "published" in port and str(port.get("host_ip", "")) in ALL_INTERFACES
    parts = str(port).rsplit(":", 2)
    if len(parts) == 1:
        return True  # container port only: Docker picks a host port on every interface
    return len(parts) == 2 or parts[0] in ALL_INTERFACES


def test_only_the_gateway_is_published_on_all_interfaces(
    services: dict[str, dict[str, Any]],
) -> None:
    public = {
        name
        for name, service in services.items()
        if any(_published_on_all_interfaces(port) for port in service.get("ports", []))
    }
    assert public == {"gateway"}
    assert "80:8080" in [str(port) for port in services["gateway"]["ports"]]


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_roles_are_hardened(services: dict[str, dict[str, Any]], role: str) -> None:
    service = services[role]
    assert service.get("read_only") is True
    assert service.get("cap_drop") == ["ALL"]
    assert "no-new-privileges:true" in service.get("security_opt", [])
    assert service.get("restart") in ("unless-stopped", "always", "on-failure")
    assert any(str(mount).split(":")[0] == "/tmp" for mount in service.get("tmpfs", []))


def test_no_literal_secret_in_compose(services: dict[str, dict[str, Any]]) -> None:
    literal = []
    for name, service in services.items():
        for key, value in environment(service).items():
            if value is None:
                continue
            if SECRET_NAME.search(key) and not key.endswith("_FILE") and "${" not in value:
                literal.append(f"{name}.{key}")
            masked = INTERPOLATION.sub("${}", value)  # `${NAME:?msg}` may hold ':' and spaces
            for credentials in URL_CREDENTIALS.finditer(masked):
                # A user name may be literal (each role's MongoDB user is named after it).
                if credentials["password"] != "${}":
                    literal.append(f"{name}.{key} (URL credentials)")
    assert not literal, f"literal secrets: {literal}"


def test_signing_key_is_a_read_only_git_ignored_file(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    key_file = environment(services["auth"])["JWT_PRIVATE_KEY_FILE"]
    mounts = {
        f"/run/secrets/{secret['target']}": compose["secrets"][secret["source"]]["file"]
        for secret in services["auth"].get("secrets", [])
    }
    assert key_file in mounts, "JWT_PRIVATE_KEY_FILE must be a compose secret of the auth role"
    source = Path(mounts[key_file])
    ignored = [line.strip().rstrip("/") for line in (ROOT / ".gitignore").read_text().splitlines()]
    assert source.parts[0] in ignored, f"{source} is not under a git-ignored directory"


def test_roles_are_reached_on_their_one_port(services: dict[str, dict[str, Any]]) -> None:
    # Roles listen on config.ROLE_PORTS; the URLs between them and the published port follow it.
    for name, service in services.items():
        for key, value in (service.get("environment") or {}).items():
            if key in ("AUTH_URL", "UPLOAD_URL", "NOTIFICATION_URL"):
                role = key.removesuffix("_URL").lower()
                assert value == f"http://{role}:{ROLE_PORTS[role]}", (name, key)
    (published,) = services["gateway"]["ports"]
    assert str(published).endswith(f":{ROLE_PORTS['gateway']}")


def _url(value: str) -> tuple[str, str, str, dict[str, list[str]]]:
    """A URL's user, password, host and query; `${NAME…}` becomes `$NAME` (what it reads)."""
    parts = urlsplit(INTERPOLATION.sub(lambda match: f"${match[1]}", value))
    return parts.username or "", parts.password or "", parts.hostname or "", parse_qs(parts.query)


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_each_role_connects_to_mongodb_as_its_own_user(
    services: dict[str, dict[str, Any]], role: str
) -> None:
    env = environment(services[role])
    if role not in ROLE_COLLECTIONS:
        assert "MONGODB_URL" not in env, f"{role} uses no database and gets no MongoDB URL"
        return
    user, password, host, query = _url(env["MONGODB_URL"] or "")
    assert user == role, f"{role} connects as {user!r}"
    assert password == f"${password_variable(role)}", password
    assert host == "mongodb"
    # The users are defined in the roles' database (create-role-users.js), the one they use.
    assert query["authSource"] == ["$MONGO_APP_DB"], query
    ((database, *_),) = INTERPOLATION.findall(env["MONGODB_DB"] or "")
    assert database == "MONGO_APP_DB", "the roles use the database their users are defined in"
    assert "directConnection" in query, "keep the single-node connection option"


def test_no_role_uses_the_mongodb_root_account(services: dict[str, dict[str, Any]]) -> None:
    for role in ROLE_NAMES:
        for key, value in environment(services[role]).items():
            assert "MONGO_INITDB_ROOT" not in (value or ""), f"{role}.{key}"


def test_mongodb_creates_each_roles_user_from_the_generated_script(
    services: dict[str, dict[str, Any]],
) -> None:
    mongodb = services["mongodb"]
    mounts = [str(volume).split(":") for volume in mongodb["volumes"]]
    scripts = [mount for mount in mounts if mount[1].startswith("/docker-entrypoint-initdb.d/")]
    assert scripts == [
        [
            "./deploy/mongo/create-role-users.js",
            "/docker-entrypoint-initdb.d/create-role-users.js",
            "ro",
        ]
    ]
    assert (ROOT / scripts[0][0]).is_file()
    env = environment(mongodb)
    values, _ = env_example()
    for name in ["MONGO_APP_DB", *(password_variable(role) for role in ROLE_COLLECTIONS)]:
        assert name in values, f"{name} is not in .env.example"
        (read,) = INTERPOLATION.findall(env.get(name) or "")
        assert read[0] == name, f"mongodb.{name} must come from .env"


@pytest.mark.parametrize("role", ROLE_NAMES)
def test_link_signing_keys_go_to_the_roles_that_sign_or_verify_links(
    services: dict[str, dict[str, Any]], role: str
) -> None:
    env = environment(services[role])
    if role not in LINK_SIGNING_ROLES:
        assert "LINK_SIGNING_KEYS" not in env, role
        return
    (read,) = INTERPOLATION.findall(env["LINK_SIGNING_KEYS"] or "")
    assert read[0] == "LINK_SIGNING_KEYS", "the keys come from .env, never from compose.yaml"
    assert read[1] == ":?", "a missing key must stop compose, not start a role without one"
    values, _ = env_example()
    assert "LINK_SIGNING_KEYS" in values


def test_ops_ports_are_probed_inside_the_container_and_never_published(
    services: dict[str, dict[str, Any]],
) -> None:
    ops_ports = {port + OPS_PORT_OFFSET for port in ROLE_PORTS.values()}
    for name, service in services.items():
        for port in service.get("ports", []):
            target = port["target"] if isinstance(port, dict) else str(port).rsplit(":", 1)[-1]
            assert int(str(target).split("/")[0]) not in ops_ports, f"{name} publishes {port}"
    for role in ROLE_NAMES:
        # `mp3converter ready ROLE` probes the role's default ops port: nothing may move it.
        env = environment(services[role])
        assert env.get("OPS_PORT", str(ROLE_PORTS[role] + OPS_PORT_OFFSET)) == str(
            ROLE_PORTS[role] + OPS_PORT_OFFSET
        ), role
        assert env.get("HTTP_PORT", str(ROLE_PORTS[role])) == str(ROLE_PORTS[role]), role


def test_signing_key_is_mounted_by_auth_only_and_readable_by_its_owner_only(
    services: dict[str, dict[str, Any]],
) -> None:
    mounting = {name for name, service in services.items() if service.get("secrets")}
    assert mounting == {"auth"}
    # Compose bind-mounts a file secret with the host file's owner and mode: the instructions
    # (compose.yaml and .env.example) make it the app user's (UID 10001), owner-only (0400).
    for path in (COMPOSE_FILE, ENV_EXAMPLE):
        text = path.read_text()
        assert "chmod 0400 secrets/jwt-ed25519.pem" in text, path.name
        assert "chown 10001:10001 secrets/jwt-ed25519.pem" in text, path.name
        modes = re.findall(r"chmod (\S+) secrets/jwt-ed25519\.pem", text)
        assert set(modes) == {"0400"}, (path.name, modes)
