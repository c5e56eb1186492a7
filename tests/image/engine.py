"""The container engine that runs the image: docker when an engine answers, else podman."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PODMAN_CONF = ROOT / "deploy" / "podman" / "containers.conf"


def engine() -> list[str]:
    """The engine's command line (podman with the project's containers.conf)."""
    if os.environ.get("IMAGE_ENGINE") != "podman" and shutil.which("docker"):
        answered = subprocess.run(["docker", "info"], capture_output=True, check=False)
        if answered.returncode == 0:
            return ["docker"]
    return ["env", f"CONTAINERS_CONF={os.environ.get('CONTAINERS_CONF', PODMAN_CONF)}", "podman"]


def build_image() -> str:
    """`make image`'s script: builds the image (layers cached) and returns its name."""
    built = subprocess.run(
        [str(ROOT / "scripts" / "image.sh")], capture_output=True, text=True, check=False
    )
    assert built.returncode == 0, built.stdout[-4000:] + built.stderr[-4000:]
    return built.stdout.strip().splitlines()[-1]


def image_bytes(image: str) -> int:
    """The image's size as the engine counts it (every layer, uncompressed)."""
    out = subprocess.run(
        [*engine(), "image", "inspect", "--format", "{{.Size}}", image],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return int(out.strip())
