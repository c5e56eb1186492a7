"""The gateway's routes in-process, forwarding over real HTTP to the auth and upload roles."""

from __future__ import annotations

import io
from typing import Any

from mp3converter.devstack.secantus import free_port
from mp3converter.roles import gateway
from tests.inprocess import serving_with_ops, settings_for
from tests.integration.conftest import ADMIN, MAX_UPLOAD_BYTES, Stack


def video(data: bytes = b"not really a video") -> dict[str, Any]:
    return {"file": ("clip.mp4", io.BytesIO(data), "video/mp4")}


async def test_a_user_uploads_lists_and_reads_a_job_through_the_gateway(stack: Stack) -> None:
    admin = await stack.bearer()
    created = await stack.client.post(
        "/users", headers=admin, json={"email": "ana@example.com", "password": "ana-password-1"}
    )
    ana = await stack.bearer("ana@example.com", "ana-password-1")

    accepted = await stack.client.post("/upload", headers=ana, files=video())
    job_id = accepted.json()["job_id"]
    listed = await stack.client.get("/jobs", headers=ana)
    one = await stack.client.get(f"/jobs/{job_id}", headers=ana)
    others = await stack.client.get(f"/jobs/{job_id}", headers=admin)
    in_flight = await stack.client.delete(f"/jobs/{job_id}", headers=ana)

    assert created.status_code == 201
    assert accepted.status_code == 202
    assert accepted.headers["location"] == f"/jobs/{job_id}"
    assert [job["job_id"] for job in listed.json()["jobs"]] == [job_id]
    assert (one.status_code, one.json()["status"]) == (200, "queued")
    assert others.status_code == 404
    assert in_flight.status_code == 409


async def test_the_gateway_refuses_before_forwarding(stack: Stack) -> None:
    anonymous = await stack.client.post("/upload", files=video())
    too_large = await stack.client.post(
        "/upload",
        headers={
            **await stack.bearer(),
            "Content-Type": "multipart/form-data; boundary=x",
            "Content-Length": str(MAX_UPLOAD_BYTES * 2),
        },
        content=b"--x--\r\n",
    )
    not_admin_yet = await stack.client.post(
        "/users", json={"email": "b@example.com", "password": "b-password-1"}
    )

    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    assert too_large.status_code == 413
    assert too_large.json()["max_bytes"] == MAX_UPLOAD_BYTES
    assert not_admin_yet.status_code == 401


async def test_readiness_names_each_upstream_and_metrics_are_not_public(stack: Stack) -> None:
    response = await stack.ops.get("/readyz")
    public = [await stack.client.get(path) for path in ("/metrics", "/readyz", "/healthz")]

    assert response.status_code == 200
    assert response.json()["checks"] == {"auth": "ok", "upload": "ok"}
    assert [r.status_code for r in public] == [404, 404, 404]
    assert "mp3converter_http_requests_total" in (await stack.ops.get("/metrics")).text


async def test_the_public_api_is_documented_and_405_names_every_method(stack: Stack) -> None:
    paths = (await stack.client.get("/openapi.json")).json()["paths"]
    put = await stack.client.put("/jobs/some-job")

    assert {path: sorted(ops) for path, ops in paths.items()} == {
        "/login": ["post"],
        "/token": ["post"],
        "/revoke": ["post"],
        "/users": ["get", "post"],
        "/users/{user_id}": ["delete", "patch"],
        "/users/me/password": ["put"],
        "/api-keys": ["get", "post"],
        "/api-keys/{key_id}": ["delete"],
        "/upload": ["post"],
        "/jobs": ["get"],
        "/jobs/{job_id}": ["delete", "get"],
        "/jobs/{job_id}/events": ["get"],
        "/events": ["get"],
        "/download/{job_id}": ["get"],
        "/webhooks": ["get", "post"],
        "/webhooks/{webhook_id}": ["delete"],
        "/webhooks/{webhook_id}/enable": ["post"],
        "/webhooks/{webhook_id}/test": ["post"],
        "/webhooks/{webhook_id}/deliveries": ["get"],
        "/presets": ["get"],
    }
    assert put.status_code == 405
    assert put.headers["allow"] == "DELETE, GET"


async def test_an_upstream_that_is_down_is_503(mongodb_url: str) -> None:
    settings = settings_for(mongodb_url, f"http://127.0.0.1:{free_port()}")
    async with serving_with_ops(gateway.create_app(settings), settings) as (client, ops):
        login = await client.post("/login", auth=ADMIN)
        ready = await ops.get("/readyz")

    assert login.status_code == 503
    assert login.json()["type"].endswith("/upstream-unavailable")
    assert login.headers["retry-after"] == "5"
    assert ready.status_code == 503
