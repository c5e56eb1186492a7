"""How long a disabled user's access token keeps working at the gateway.

Starts SecantusDB and the auth, upload and gateway roles (REVOCATION_REFRESH_SECONDS as set, by
default the platform's 15 s), then ROUNDS times: creates a user, signs them in, disables them and
polls GET /jobs with their token every 50 ms until it is refused. Prints each time, and the median
and maximum as a ratio of the refresh period (the bound the design promises: at most 1.0).
Run: `.venv/bin/python bench/revocation_latency.py [--rounds 3] [--refresh 15]`.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from harness import ADMIN_EMAIL, ADMIN_PASSWORD, platform

POLL_SECONDS = 0.05


def one_round(gateway: httpx.Client, admin: dict[str, str]) -> float:
    """Seconds from disabling a user until their token is refused."""
    email, password = f"{uuid.uuid4().hex[:8]}@example.com", "bench-user-password"
    created = gateway.post("/users", headers=admin, json={"email": email, "password": password})
    created.raise_for_status()
    token = gateway.post("/login", auth=(email, password)).json()["access_token"]
    mine = {"Authorization": f"Bearer {token}"}
    assert gateway.get("/jobs", headers=mine).status_code == 200
    started = time.monotonic()
    disabled = gateway.patch(
        f"/users/{created.json()['user_id']}", headers=admin, json={"disabled": True}
    )
    disabled.raise_for_status()
    while gateway.get("/jobs", headers=mine).status_code == 200:
        time.sleep(POLL_SECONDS)
    return time.monotonic() - started


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--refresh", type=float, default=15.0)
    args = parser.parse_args()
    env = {"REVOCATION_REFRESH_SECONDS": str(args.refresh)}
    with (
        tempfile.TemporaryDirectory() as tmp,
        platform(Path(tmp), ["auth", "upload", "gateway"], env) as roles,
    ):
        base = f"http://127.0.0.1:{roles.ports['gateway']}"
        with httpx.Client(base_url=base, timeout=30) as gateway:
            login = gateway.post("/login", auth=(ADMIN_EMAIL, ADMIN_PASSWORD))
            admin = {"Authorization": f"Bearer {login.json()['access_token']}"}
            times = [one_round(gateway, admin) for _ in range(args.rounds)]
    print(f"disabled user's token refused after: {', '.join(f'{t:.2f} s' for t in times)}")
    median, worst = statistics.median(times), max(times)
    print(
        f"median {median:.2f} s, max {worst:.2f} s; against REVOCATION_REFRESH_SECONDS="
        f"{args.refresh:g}: {median / args.refresh:.2f}x median, {worst / args.refresh:.2f}x max"
    )


if __name__ == "__main__":
    main()
