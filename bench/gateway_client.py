"""The benchmark's client of the gateway: login (renewed before it expires), upload, poll, download."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import httpx

from harness import login
from upload_memory import BOUNDARY, MultipartBody

FINAL = ("done", "failed")
# Access tokens live JWT_TTL_SECONDS (900 s by default); log in again well before.
TOKEN_MAX_AGE_SECONDS = 300.0
# Before a timed step: a token this fresh is not renewed (no login is timed) for 240 s or more.
FRESH_SECONDS = 60.0


class JobFailed(RuntimeError):
    """A job the benchmark expected to be done failed."""


def token_subject(token: str) -> str:
    """The `sub` claim of a JWT (the user id), read without verifying the signature."""
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return str(claims["sub"])


class Gateway:
    """One httpx client on the gateway, signed in as the admin."""

    def __init__(self, base_url: str, timeout: float) -> None:
        limits = httpx.Limits(max_connections=256, max_keepalive_connections=64)
        self.http = httpx.Client(
            base_url=base_url,
            timeout=httpx.Timeout(timeout, connect=10.0, pool=timeout),
            limits=limits,
        )
        self._token = ""
        self._token_at = 0.0
        # Threads of a burst share one login (concurrent logins would meet the argon2 cap: 503).
        self._login = threading.Lock()

    def close(self) -> None:
        """Close the connections."""
        self.http.close()

    def auth(self, max_age: float = TOKEN_MAX_AGE_SECONDS) -> dict[str, str]:
        """The Authorization header, logging in again if the token is older than max_age."""
        with self._login:
            if not self._token or time.monotonic() - self._token_at > max_age:
                self._token = login(self.http)
                self._token_at = time.monotonic()
            return {"Authorization": f"Bearer {self._token}"}

    def fresh(self) -> None:
        """Log in again now unless the token is younger than FRESH_SECONDS (call before timing)."""
        self.auth(FRESH_SECONDS)

    def user_id(self) -> str:
        """The admin's user id."""
        self.auth()
        return token_subject(self._token)

    def upload_file(self, path: Path, fields: Mapping[str, str] | None = None) -> str:
        """POST /upload of a file (streamed from disk), with form fields before it; its job id."""
        headers = self.auth()
        with path.open("rb") as body:
            response = self.http.post(
                "/upload",
                data=dict(fields) if fields else None,
                files={"file": (path.name, body, "video/mp4")},
                headers=headers,
            )
        return self._accepted(response)

    def upload_body(self, body: MultipartBody) -> str:
        """POST /upload of a generated multipart body (never held in memory); its job id."""
        headers = {
            **self.auth(),
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
            "Content-Length": str(body.content_length),
        }
        response = self.http.post("/upload", content=iter(body), headers=headers)
        return self._accepted(response)

    @staticmethod
    def _accepted(response: httpx.Response) -> str:
        if response.status_code != 202:
            raise RuntimeError(f"POST /upload answered {response.status_code}: {response.text}")
        job_id: str = response.json()["job_id"]
        return job_id

    def job(self, job_id: str) -> dict[str, Any]:
        """GET /jobs/{job_id}."""
        job: dict[str, Any] = (
            self.http.get(f"/jobs/{job_id}", headers=self.auth()).raise_for_status().json()
        )
        return job

    def wait_final(self, job_id: str, timeout: float, poll: float = 0.05) -> dict[str, Any]:
        """Poll the job until it is done or failed; TimeoutError after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if job["status"] in FINAL:
                return job
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} not final after {timeout:.0f} s: {job}")
            time.sleep(poll)

    def wait_done(self, job_id: str, timeout: float, poll: float = 0.05) -> dict[str, Any]:
        """Like wait_final, but a failed job is an error."""
        job = self.wait_final(job_id, timeout, poll)
        if job["status"] != "done":
            raise JobFailed(f"job {job_id} failed: {job.get('error')}")
        return job

    def wait_all_done(self, job_ids: Iterable[str], timeout: float, poll: float = 0.1) -> float:
        """Poll until every job is done; the perf_counter() at which the last was seen done.

        One GET /jobs (newest first) per poll covers a burst that was just uploaded; jobs it does
        not list are asked for one by one.
        """
        pending = set(job_ids)
        limit = max(1, min(200, len(pending)))
        deadline = time.monotonic() + timeout
        while True:
            listed = self.http.get("/jobs", params={"limit": limit}, headers=self.auth())
            seen = {j["job_id"]: j for j in listed.raise_for_status().json()["jobs"]}
            for job_id in [j for j in pending if j not in seen]:
                seen[job_id] = self.job(job_id)
            now = time.perf_counter()
            for job_id in list(pending):
                status = seen[job_id]["status"]
                if status == "failed":
                    raise JobFailed(f"job {job_id} failed: {seen[job_id].get('error')}")
                if status == "done":
                    pending.discard(job_id)
            if not pending:
                return now
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(pending)} jobs not done after {timeout:.0f} s")
            time.sleep(poll)

    def download(self, job_id: str) -> int:
        """GET /download/{job_id}, read to the end; the bytes received."""
        received = 0
        with self.http.stream("GET", f"/download/{job_id}", headers=self.auth()) as response:
            if response.status_code != 200:
                response.read()
                raise RuntimeError(f"download answered {response.status_code}: {response.text}")
            for chunk in response.iter_raw():
                received += len(chunk)
        return received
