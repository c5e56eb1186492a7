"""The web UI's npm lock file pins every package by integrity hash and names no download URL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FRONTEND = Path(__file__).resolve().parents[2] / "frontend"


def _lock() -> dict[str, Any]:
    lock: dict[str, Any] = json.loads((FRONTEND / "package-lock.json").read_text())
    return lock


def test_the_lock_is_version_3_and_matches_package_json() -> None:
    lock = _lock()
    manifest = json.loads((FRONTEND / "package.json").read_text())

    assert lock["lockfileVersion"] == 3
    root = lock["packages"][""]
    assert root.get("dependencies", {}) == manifest.get("dependencies", {})
    assert root.get("devDependencies", {}) == manifest.get("devDependencies", {})


def test_every_package_is_pinned_by_an_integrity_hash() -> None:
    packages = {name: entry for name, entry in _lock()["packages"].items() if name}

    assert packages
    for name, entry in packages.items():
        assert entry.get("version"), name
        assert entry.get("integrity", "").startswith("sha512-"), name


def test_the_lock_records_no_download_url() -> None:
    text = (FRONTEND / "package-lock.json").read_text()

    assert '"resolved"' not in text
    assert "://" not in text
    npmrc = (FRONTEND / ".npmrc").read_text().splitlines()
    assert "omit-lockfile-registry-resolved=true" in npmrc
