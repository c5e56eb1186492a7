"""Identity end to end: the emailed link downloads in a browser, OAuth2 through the gateway."""

from __future__ import annotations

import re
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.e2e.platform import ADMIN_EMAIL, ADMIN_PASSWORD, Platform, bearer, upload_file
from tests.media import make_video

pytestmark = pytest.mark.e2e


async def test_the_emailed_link_downloads_the_mp3_without_signing_in(
    platform: Platform, tmp_path: Path
) -> None:
    token = await platform.token(ADMIN_EMAIL, ADMIN_PASSWORD)
    video = make_video(tmp_path / "talk.mp4", seconds=2).read_bytes()
    async with platform.client() as client:
        accepted = await client.post(
            "/upload", headers=bearer(token), files=upload_file("talk.mp4", video)
        )
    job_id = accepted.json()["job_id"]
    await platform.wait_final(token, job_id)
    mail = await platform.mailbox.wait_for(lambda m: job_id in str(m.get_body()))
    body = mail.get_body(("plain",))
    assert isinstance(body, EmailMessage)
    (link,) = re.findall(rf"http\S+/download/{job_id}\?\S+", body.get_content())

    # As a browser would: no Authorization header, no cookie, just the link.
    async with httpx.AsyncClient(timeout=30) as browser:
        response = await browser.get(link)
        tampered = await browser.get(link.replace("&s=", "&s=x"))

    assert urlsplit(link).netloc == urlsplit(platform.gateway).netloc
    assert response.status_code == 200
    assert response.headers["content-type"] == "audio/mpeg"
    assert response.content[:3] == b"ID3" or response.content[:2] == b"\xff\xfb"
    assert tampered.status_code == 403
    assert tampered.headers["content-type"] == "application/problem+json"


async def test_oauth2_password_grant_refresh_and_revoke_through_the_gateway(
    platform: Platform,
) -> None:
    async with platform.client() as client:
        granted = await client.post(
            "/token",
            data={"grant_type": "password", "username": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
        )
        refreshed = await client.post(
            "/token",
            data={"grant_type": "refresh_token", "refresh_token": granted.json()["refresh_token"]},
        )
        revoked = await client.post("/revoke", data={"token": refreshed.json()["refresh_token"]})
        after = await client.post(
            "/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": refreshed.json()["refresh_token"],
            },
        )
        jobs = await client.get("/jobs", headers=bearer(refreshed.json()["access_token"]))

    assert granted.status_code == 200
    assert granted.headers["cache-control"] == "no-store"
    assert refreshed.status_code == 200
    assert revoked.status_code == 200
    assert (after.status_code, after.json()["error"]) == (400, "invalid_grant")
    assert jobs.status_code == 200
