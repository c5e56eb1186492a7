"""The web UI's routes: the page's CSP and caching, hashed assets kept a year, gzip, ETags."""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from mp3converter.api.gateway import web_ui
from mp3converter.web.problems import install_problem_handlers
from mp3converter.web.ui_bundle import UiBundle

PAGE = b"<!doctype html><title>t</title><script type=module src=/assets/app-ABC.js></script>"
SCRIPT = b"console.log('hello');" * 20


def _bundle(tmp_path: Path) -> UiBundle | None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_bytes(PAGE)
    (tmp_path / "assets" / "app-ABC.js").write_bytes(SCRIPT)
    (tmp_path / "assets" / "notes.txt").write_bytes(b"not a type the page serves")
    return UiBundle.load(tmp_path)


def _client(bundle: UiBundle | None) -> httpx.AsyncClient:
    app = FastAPI()
    app.include_router(web_ui.router_for(bundle))
    install_problem_handlers(app)
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(_bundle(tmp_path)) as served:
        yield served


async def test_the_page_has_a_strict_csp_and_is_revalidated(client: httpx.AsyncClient) -> None:
    page = await client.get("/", headers={"Accept-Encoding": "identity"})

    assert page.status_code == 200
    assert page.content == PAGE
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["cache-control"] == "no-cache"
    policy = dict(
        directive.strip().split(" ", 1)
        for directive in page.headers["content-security-policy"].split(";")
    )
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in page.headers["content-security-policy"]


async def test_hashed_assets_are_immutable_and_gzipped(client: httpx.AsyncClient) -> None:
    plain = await client.get("/assets/app-ABC.js", headers={"Accept-Encoding": "identity"})
    # httpx would decode it: read the raw bytes to see what travelled.
    async with client.stream("GET", "/assets/app-ABC.js", headers={"Accept-Encoding": "gzip"}) as r:
        raw = b"".join([chunk async for chunk in r.aiter_raw()])
        zipped_headers = r.headers

    assert plain.content == SCRIPT
    assert plain.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert plain.headers["content-type"] == "text/javascript; charset=utf-8"
    assert zipped_headers["content-encoding"] == "gzip"
    assert zipped_headers["vary"] == "Accept-Encoding"
    assert gzip.decompress(raw) == SCRIPT
    assert len(raw) < len(SCRIPT)
    assert zipped_headers["etag"] != plain.headers["etag"]


async def test_an_unchanged_file_is_304(client: httpx.AsyncClient) -> None:
    first = await client.get("/", headers={"Accept-Encoding": "gzip"})
    again = await client.get(
        "/", headers={"Accept-Encoding": "gzip", "If-None-Match": first.headers["etag"]}
    )

    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["content-security-policy"] == first.headers["content-security-policy"]


@pytest.mark.parametrize(
    "path", ["/assets/nope.js", "/assets/notes.txt", "/assets/..%2Findex.html", "/assets/"]
)
async def test_only_the_built_assets_are_served(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_without_a_build_the_page_says_how_to_make_one(tmp_path: Path) -> None:
    assert UiBundle.load(tmp_path) is None
    async with _client(None) as client:
        page = await client.get("/")

    assert page.status_code == 503
    assert "make bootstrap" in page.json()["detail"]


async def test_the_page_is_not_part_of_the_api_document(client: httpx.AsyncClient) -> None:
    app = FastAPI()
    app.include_router(web_ui.router_for(None))

    assert app.openapi()["paths"] == {}
