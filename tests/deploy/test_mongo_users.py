"""deploy/mongo/create-role-users.js (and the minikube overlay's copy): the generated script,
committed as generated, valid JavaScript."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from mp3converter.adapters.mongo_users import create_users_script
from tests.deploy.helpers import ROOT

SCRIPT = ROOT / "deploy" / "mongo" / "create-role-users.js"
# kustomize reads only files below an overlay: minikube's ConfigMap is made from this copy.
MINIKUBE_COPY = ROOT / "deploy" / "k8s" / "overlays" / "minikube" / "create-role-users.js"
REGENERATE = (
    "regenerate it: mp3converter mongo-users-script > deploy/mongo/create-role-users.js"
    " && cp deploy/mongo/create-role-users.js deploy/k8s/overlays/minikube/"
)


def test_every_copy_of_the_script_is_known() -> None:
    copies = {path for path in (ROOT / "deploy").rglob("*.js") if path.name == SCRIPT.name}
    assert copies == {SCRIPT, MINIKUBE_COPY}


@pytest.mark.parametrize("path", [SCRIPT, MINIKUBE_COPY], ids=["deploy/mongo", "minikube"])
def test_committed_script_is_the_generated_one(path: Path) -> None:
    assert path.read_text() == create_users_script(), (
        f"{path.relative_to(ROOT)} is stale: {REGENERATE}"
    )


def test_node_accepts_the_script() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: cannot check the script's syntax")
    result = subprocess.run(
        [node, "--check", str(SCRIPT)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
