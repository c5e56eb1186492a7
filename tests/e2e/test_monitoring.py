"""A real Prometheus against the running roles and RabbitMQ's plugin: after the seed flow, every
dashboard query is valid, most return data, and the project's rules are loaded and healthy."""

from __future__ import annotations

import asyncio
import math
import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mp3converter.devstack.monitoring import (
    RABBITMQ_METRICS,
    RULES_FILE,
    prometheus_config,
    start_prometheus,
)
from mp3converter.devstack.secantus import free_port, stop_process
from tests.deploy.monitoring import dashboard_queries
from tests.e2e.platform import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    MAX_UPLOAD_BYTES,
    Platform,
    bearer,
    upload_file,
)
from tests.media import make_video

pytestmark = pytest.mark.e2e
# Share of the dashboard's panels that must show data after one seed flow (all 14 did, here):
# room for one that a slow scrape leaves empty.
PANELS_WITH_DATA = 0.9
SCRAPE = "1s"
PANEL_DEADLINE_SECONDS = 30.0


def _rabbitmq_plugin_answers() -> bool:
    try:
        return httpx.get(f"http://{RABBITMQ_METRICS}/metrics", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


def _enable_rabbitmq_plugin() -> None:
    """make bootstrap enables rabbitmq_prometheus on the local broker; do it here if it did not."""
    if _rabbitmq_plugin_answers() or os.environ.get("AMQP_URL"):
        return
    plugins = shutil.which("rabbitmq-plugins")
    if plugins is not None:
        subprocess.run([plugins, "enable", "-q", "rabbitmq_prometheus"], timeout=60, check=False)


@pytest.fixture(scope="module")
async def prometheus(
    platform: Platform, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """Prometheus on a free loopback port, scraping the platform's roles every second."""
    await asyncio.to_thread(_enable_rabbitmq_plugin)
    home = tmp_path_factory.mktemp("prometheus")
    targets = {role: f"127.0.0.1:{port}" for role, port in platform.ops_ports.items()}
    config = prometheus_config(targets, RABBITMQ_METRICS, [str(RULES_FILE)], interval=SCRAPE)
    port = free_port()
    process = await asyncio.to_thread(start_prometheus, config, home, port, home / "log")
    try:
        url = f"http://127.0.0.1:{port}"
        # Ready is not scraping yet (targets are applied a few seconds later): wait for a sample
        # of every target, so the flow's increases are seen as increases.
        async with httpx.AsyncClient(base_url=url, timeout=10.0) as client:
            await _wait_for(client, f"count(up == 1) >= {len(targets) + 1}")
        yield url
    finally:
        await asyncio.to_thread(stop_process, process)


async def _query(client: httpx.AsyncClient, expr: str) -> dict[str, Any]:
    response = await client.get("/api/v1/query", params={"query": expr})
    body: dict[str, Any] = response.json()
    return body


def _has_data(body: dict[str, Any]) -> bool:
    results = body["data"]["result"]
    return any(not math.isnan(float(r["value"][1])) for r in results)


async def _wait_for(client: httpx.AsyncClient, expr: str, timeout: float = 30.0) -> None:
    async with asyncio.timeout(timeout):
        while not _has_data(await _query(client, expr)):
            await asyncio.sleep(0.5)


async def _seed_flow(platform: Platform, tmp_path: Path) -> None:
    """One converted and downloaded video, one failed job, one refused upload."""
    source = make_video(tmp_path / "seed.mp4", seconds=3)
    token = await platform.token(ADMIN_EMAIL, ADMIN_PASSWORD)
    async with platform.client() as client:
        ok = await client.post(
            "/upload", headers=bearer(token), files=upload_file("seed.mp4", source.read_bytes())
        )
        bad = await client.post(
            "/upload", headers=bearer(token), files=upload_file("bad.mp4", os.urandom(100_000))
        )
        assert ok.status_code == bad.status_code == 202, (ok.text, bad.text)
        done = await platform.wait_final(token, ok.json()["job_id"])
        failed = await platform.wait_final(token, bad.json()["job_id"])
        assert (done["status"], failed["status"]) == ("done", "failed")
        download = await client.get(f"/download/{done['job_id']}", headers=bearer(token))
        assert download.status_code == 200
        too_large = os.urandom(MAX_UPLOAD_BYTES + 1024)
        refused = await client.post(
            "/upload", headers=bearer(token), files=upload_file("big.mp4", too_large)
        )
        assert refused.status_code == 413


async def _panel_answers(
    client: httpx.AsyncClient, panels: list[tuple[str, list[str]]]
) -> tuple[list[str], list[str]]:
    """The query errors, and the titles of the panels none of whose queries has data."""
    errors: list[str] = []
    empty: list[str] = []
    for title, queries in panels:
        answers = [await _query(client, expr) for expr in queries]
        errors += [f"{title}: {a.get('error')}" for a in answers if a["status"] != "success"]
        if not any(a["status"] == "success" and _has_data(a) for a in answers):
            empty.append(title)
    return errors, empty


async def _light_traffic(platform: Platform) -> None:
    """A few ordinary requests through the gateway to auth and upload, as any user makes."""
    token = await platform.token(ADMIN_EMAIL, ADMIN_PASSWORD)
    async with platform.client() as client:
        for _ in range(3):
            assert (await client.get("/jobs", headers=bearer(token))).status_code == 200


async def test_dashboard_queries_are_valid_and_most_return_data(
    platform: Platform, prometheus: str, tmp_path: Path
) -> None:
    await _seed_flow(platform, tmp_path)
    panels = dashboard_queries(rate_interval="1m")
    async with httpx.AsyncClient(base_url=prometheus, timeout=10.0) as client:
        # The last of the flow's effects, scraped: then every counter moved before it is in too.
        await _wait_for(client, "mp3converter_downloaded_bytes_total > 0")
        await _wait_for(client, 'mp3converter_jobs_finished_total{outcome="failed"} > 0')
        # rate() sees only increases between two scrapes: a series born during the flow and
        # moved once in the same second has none yet. A dashboard watches ongoing traffic, so
        # keep a little coming until every panel shows data or the deadline passes.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + PANEL_DEADLINE_SECONDS
        while True:
            errors, empty = await _panel_answers(client, panels)
            if errors or not empty or loop.time() > deadline:
                break
            await _light_traffic(platform)
            await asyncio.sleep(1)
    assert not errors, errors
    with_data = len(panels) - len(empty)
    assert with_data / len(panels) >= PANELS_WITH_DATA, f"panels without data: {empty}"
    # The job panels, the queue panels (RabbitMQ's plugin) and the conversion histogram.
    for needed in (
        "Jobs per minute by outcome",
        "Failures per minute by code",
        "Convert queue depth",
        "Consumers",
        "Conversion duration p50 / p95",
    ):
        assert needed not in empty, f"{needed}: no data; panels without data: {empty}"


async def test_rules_are_loaded_and_evaluate_and_every_role_is_scraped(prometheus: str) -> None:
    async with httpx.AsyncClient(base_url=prometheus, timeout=10.0) as client:
        async with asyncio.timeout(20):
            while True:
                groups = (await client.get("/api/v1/rules")).json()["data"]["groups"]
                rules = [rule for group in groups for rule in group["rules"]]
                if rules and all(rule.get("lastEvaluation", "").startswith("20") for rule in rules):
                    break
                await asyncio.sleep(0.5)
        targets = (await client.get("/api/v1/targets")).json()["data"]["activeTargets"]
    assert {group["name"] for group in groups} == {"mp3converter.recording", "mp3converter.alerts"}
    assert all(rule["health"] == "ok" for rule in rules), [
        (rule["name"], rule.get("lastError")) for rule in rules if rule["health"] != "ok"
    ]
    alerts = {rule["name"] for rule in rules if rule["type"] == "alerting"}
    assert {
        "MP3ConverterRoleDown",
        "MP3ConverterDeadLetters",
        "MP3ConverterConvertQueueGrowing",
    } <= alerts
    health = {(t["labels"]["job"], t["labels"].get("role")): t["health"] for t in targets}
    for role in ("gateway", "auth", "upload", "converter", "notification"):
        assert health[("mp3converter", role)] == "up", health
    assert health[("rabbitmq", None)] == "up", health
