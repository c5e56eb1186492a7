"""The web UI at `/`: one page and its content-hashed assets, left out of the API's documentation.

The page is revalidated on every load (`no-cache`, with an ETag), so a new release shows at once;
the assets it names never change under their name, so browsers keep them for a year. The page's
Content-Security-Policy allows only its own scripts, styles and API: no inline script or style.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from mp3converter.web.problems import Problem
from mp3converter.web.ui_bundle import StaticFile, UiBundle

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)
PAGE_HEADERS = {"Content-Security-Policy": CONTENT_SECURITY_POLICY, "Cache-Control": "no-cache"}
IMMUTABLE = {"Cache-Control": "public, max-age=31536000, immutable"}


def _accepts_gzip(request: Request) -> bool:
    for coding in request.headers.get("accept-encoding", "").split(","):
        name, _, params = coding.strip().partition(";")
        if name.strip().lower() in ("gzip", "*"):
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def _send(request: Request, file: StaticFile, headers: dict[str, str]) -> Response:
    gzipped = _accepts_gzip(request)
    # Each encoding is its own representation, with its own validator.
    etag = f'"{file.digest}-gzip"' if gzipped else f'"{file.digest}"'
    common = {**headers, "ETag": etag, "Vary": "Accept-Encoding"}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=common)
    if gzipped:
        common["Content-Encoding"] = "gzip"
        return Response(file.gzipped, media_type=file.media_type, headers=common)
    return Response(file.body, media_type=file.media_type, headers=common)


def router_for(bundle: UiBundle | None) -> APIRouter:
    """The routes of the page; without a built bundle, `/` says how to build it."""
    router = APIRouter(include_in_schema=False)

    @router.get("/")
    async def page(request: Request) -> Response:
        if bundle is None:
            raise Problem(
                503,
                "web-ui-not-built",
                "the web UI was not built: run `make bootstrap` (or `npm ci && npm run build` "
                "in frontend/)",
            )
        return _send(request, bundle.page, PAGE_HEADERS)

    @router.get("/assets/{name}")
    async def asset(request: Request, name: str) -> Response:
        found = bundle.assets.get(name) if bundle is not None else None
        if found is None:
            raise Problem(404, "not-found", "no such asset")
        return _send(request, found, IMMUTABLE)

    return router
