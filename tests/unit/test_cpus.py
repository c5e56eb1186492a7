"""Usable CPUs: the affinity, capped by a cgroup v2 or v1 CPU quota."""

from pathlib import Path

import pytest

from mp3converter.adapters import cpus


@pytest.fixture
def cgroup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(cpus, "CGROUP_V2_MAX", tmp_path / "cpu.max")
    monkeypatch.setattr(cpus, "CGROUP_V1_QUOTA", tmp_path / "cfs_quota_us")
    monkeypatch.setattr(cpus, "CGROUP_V1_PERIOD", tmp_path / "cfs_period_us")
    monkeypatch.setattr(cpus.os, "sched_getaffinity", lambda _: {0, 1, 2, 3})
    return tmp_path


@pytest.mark.parametrize(
    ("cpu_max", "expected"),
    [
        ("max 100000", 4),
        ("200000 100000", 2),
        ("150000 100000", 2),
        ("50000 100000", 1),
        ("800000 100000", 4),
    ],
)
def test_a_cgroup_v2_quota_caps_the_affinity(cgroup: Path, cpu_max: str, expected: int) -> None:
    (cgroup / "cpu.max").write_text(cpu_max + "\n")
    assert cpus.usable_cpus() == expected


@pytest.mark.parametrize(("quota", "expected"), [("-1", 4), ("100000", 1), ("300000", 3)])
def test_a_cgroup_v1_quota_caps_the_affinity(cgroup: Path, quota: str, expected: int) -> None:
    (cgroup / "cfs_quota_us").write_text(quota)
    (cgroup / "cfs_period_us").write_text("100000")
    assert cpus.usable_cpus() == expected


def test_without_a_cgroup_the_affinity_counts(cgroup: Path) -> None:
    assert cpus.usable_cpus() == 4
