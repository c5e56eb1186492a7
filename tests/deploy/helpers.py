"""Reading the container deployment files (compose.yaml, .env.example, Dockerfile) for the tests."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mp3converter.config import Settings
from mp3converter.roles import ROLES

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "compose.yaml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "Dockerfile"

ROLE_NAMES = tuple(ROLES)
# The roles that sign or verify download links (LINK_SIGNING_KEYS); no other role gets the keys.
LINK_SIGNING_ROLES = ("gateway", "upload", "notification")
# `${NAME}`, `${NAME:-default}`, `${NAME:?error}`, …; `$$` is a literal dollar sign in compose.
INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])((?:[^{}]|\{[^{}]*\})*))?\}")
ENV_LINE = re.compile(r"^\s*(#\s*)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$")
SECRET_NAME = re.compile(r"PASSWORD|PASS$|SECRET|TOKEN|KEY", re.IGNORECASE)


def settings_env_names() -> set[str]:
    """Every environment variable the platform reads: one per Settings field, upper-cased."""
    return {name.upper() for name in Settings.model_fields}


def load_compose() -> dict[str, Any]:
    """compose.yaml as plain data (YAML anchors and merge keys resolved)."""
    data = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(data, dict), "compose.yaml is not a mapping"
    return data


def compose_text_without_escapes() -> str:
    """compose.yaml's text with `$$` (a literal `$`) removed, ready for variable scanning."""
    return COMPOSE_FILE.read_text().replace("$$", "")


def env_example() -> tuple[dict[str, str], set[str]]:
    """.env.example's assignments, and the names it documents only in a commented-out line."""
    values: dict[str, str] = {}
    commented: set[str] = set()
    for line in ENV_EXAMPLE.read_text().splitlines():
        match = ENV_LINE.match(line)
        if not match:
            continue
        hashed, name, value = match.groups()
        if hashed:
            commented.add(name)
        else:
            values[name] = value.strip().strip("\"'")
    return values, commented


def env_file(path: Path) -> dict[str, str]:
    """The assignments of a kustomize env file (`NAME=value` lines; `#` starts a comment line)."""
    values: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value
    return values


def secret_parts(name: str, value: str) -> list[str]:
    """What is secret in a value: LINK_SIGNING_KEYS holds `key_id:secret,…`, only the secrets."""
    if name == "LINK_SIGNING_KEYS":
        return [pair.partition(":")[2] for pair in value.split(",")]
    return [value]


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose-style `${…}` substitution (enough for image tags and URLs)."""

    def substitute(match: re.Match[str]) -> str:
        name, operator, word = match.groups()
        value = env.get(name)
        if operator in (":-", "-") and not value:
            return word or ""
        return value or ""

    return INTERPOLATION.sub(substitute, text)


def environment(service: dict[str, Any]) -> dict[str, str | None]:
    """A service's `environment`, list or mapping syntax; None = passed through unset."""
    raw = service.get("environment") or {}
    if isinstance(raw, dict):
        return {key: None if value is None else str(value) for key, value in raw.items()}
    pairs: dict[str, str | None] = {}
    for item in raw:
        key, sep, value = str(item).partition("=")
        pairs[key] = value if sep else None
    return pairs


@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction: keyword, its arguments, and the build stage it belongs to."""

    keyword: str
    arguments: str
    stage: int

    def exec_form(self) -> list[str] | None:
        """The JSON array of an exec-form ENTRYPOINT/CMD, else None."""
        try:
            parsed = json.loads(self.arguments)
        except json.JSONDecodeError:
            return None
        return parsed if isinstance(parsed, list) else None

    def assignments(self) -> dict[str, str | None]:
        """Names and values of an ENV or ARG (`A=1 B=2`, legacy `ENV A 1`, bare `ARG A`)."""
        words = shlex.split(self.arguments)
        if self.keyword == "ENV" and words and "=" not in words[0]:
            return {words[0]: " ".join(words[1:])}
        pairs: dict[str, str | None] = {}
        for word in words:
            name, sep, value = word.partition("=")
            pairs[name] = value if sep else None
        return pairs


def dockerfile_instructions() -> list[Instruction]:
    """The Dockerfile's instructions, continuation lines joined, comments dropped."""
    instructions: list[Instruction] = []
    stage = -1
    pending = ""
    for line in DOCKERFILE.read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        keyword, _, arguments = (pending + stripped).partition(" ")
        pending = ""
        keyword = keyword.upper()
        if keyword == "FROM":
            stage += 1
        instructions.append(Instruction(keyword, arguments.strip(), stage))
    return instructions


def final_stage(instructions: list[Instruction]) -> list[Instruction]:
    """The instructions of the last stage: what the image runs."""
    last = max(instruction.stage for instruction in instructions)
    return [instruction for instruction in instructions if instruction.stage == last]
