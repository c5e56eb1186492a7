"""How many CPUs this process may really use: its affinity, capped by a cgroup CPU quota."""

from __future__ import annotations

import math
import os
from pathlib import Path

CGROUP_V2_MAX = Path("/sys/fs/cgroup/cpu.max")
CGROUP_V1_QUOTA = Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us")
CGROUP_V1_PERIOD = Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us")


def _quota_cpus() -> float | None:
    """CPUs the cgroup quota allows (Kubernetes' CPU limit), or None when unlimited."""
    try:
        if CGROUP_V2_MAX.exists():
            quota, _, period = CGROUP_V2_MAX.read_text().partition(" ")
            if quota.strip() == "max":
                return None
            return int(quota) / int(period)
        if CGROUP_V1_QUOTA.exists():
            quota_us = int(CGROUP_V1_QUOTA.read_text())
            if quota_us <= 0:
                return None
            return quota_us / int(CGROUP_V1_PERIOD.read_text())
    except (OSError, ValueError):
        return None
    return None


def usable_cpus() -> int:
    """CPUs available to this process: at least 1."""
    try:
        allowed = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        allowed = os.cpu_count() or 1
    quota = _quota_cpus()
    if quota is not None:
        allowed = min(allowed, math.ceil(quota))
    return max(1, allowed)
