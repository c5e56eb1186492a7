"""The web UI in Debian's Chromium against the real platform: sign in, convert, follow, download.

Every page records its console errors and uncaught exceptions; a test fails on any it did not
expect (a 4xx the test provoked is logged by Chromium as "Failed to load resource"). Screenshots
and the first load's transfer sizes go to `<pytest basetemp>/web-ui/`;
`UPDATE_DOCS_SCREENSHOTS=1` also copies one desktop and one phone screenshot into docs/.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from axe_playwright_python.async_playwright import Axe
from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    async_playwright,
    expect,
)

from mp3converter.adapters import mongo
from tests.e2e.platform import ADMIN_EMAIL, ADMIN_PASSWORD, Platform, bearer
from tests.media import ffprobe_json, make_video

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
EMAIL = "web-ui@example.com"
PASSWORD = "web-ui-password-1"
DOCS = Path(__file__).resolve().parents[2] / "docs"
# The whole first load (page, script, style, icon), as transferred (gzip), must stay small.
FIRST_LOAD_BUDGET_BYTES = 40_000
# Room for a 2-core machine that converts and runs a browser at once.
expect.set_options(timeout=15_000)


@dataclass
class Watched:
    """A page, and the console errors and uncaught exceptions it produced."""

    page: Page
    errors: list[str] = field(default_factory=list)

    def allow(self, pattern: str) -> list[str]:
        """Drop (and return) the errors matching `pattern`, which the test provoked on purpose."""
        matched = [error for error in self.errors if re.search(pattern, error)]
        self.errors = [error for error in self.errors if error not in matched]
        return matched


@pytest.fixture(scope="module")
def artefacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots and measurements are written."""
    path = tmp_path_factory.getbasetemp() / "web-ui"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium, headless."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make bootstrap` installs Debian's chromium")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield launched
        await launched.close()


@pytest.fixture(scope="module")
async def user(platform: Platform) -> tuple[str, str]:
    """A user of the platform, made by the admin."""
    admin = await platform.token(ADMIN_EMAIL, ADMIN_PASSWORD)
    async with platform.client() as client:
        created = await client.post(
            "/users", headers=bearer(admin), json={"email": EMAIL, "password": PASSWORD}
        )
        page = await client.get("/")
    assert created.status_code == 201, created.text
    assert page.status_code == 200, "the web UI is not built: run `make bootstrap`"
    return EMAIL, PASSWORD


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    """A fresh browser profile at desktop size that saves downloads."""
    created = await browser.new_context(viewport=DESKTOP, accept_downloads=True)
    created.set_default_timeout(15_000)
    yield created
    await created.close()


@pytest.fixture
async def watched(context: BrowserContext) -> AsyncIterator[Watched]:
    """A page whose console errors and page errors fail the test unless it allowed them."""
    page = await context.new_page()
    seen = Watched(page)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            seen.errors.append(f"console: {message.text} ({message.location.get('url', '')})")

    page.on("console", on_console)
    page.on("pageerror", lambda error: seen.errors.append(f"pageerror: {error}"))
    yield seen
    assert seen.errors == [], seen.errors


async def sign_in(page: Page, platform: Platform, email: str, password: str) -> None:
    """Open the page and sign in with the keyboard only: Email, Tab, Password, Enter."""
    await page.goto(platform.gateway + "/")
    await page.get_by_label("Email", exact=True).focus()
    await page.keyboard.type(email)
    await page.keyboard.press("Tab")
    await expect(page.get_by_label("Password", exact=True)).to_be_focused()
    await page.keyboard.type(password)
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Jobs")).to_be_visible()


def job_row(page: Page, name: str) -> Any:
    """The row of the jobs list that shows a file name."""
    return page.locator("li.job").filter(has=page.locator(".job-name", has_text=name))


async def serious_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is."""
    results = await Axe().run(page)
    violations: list[dict[str, Any]] = results.response["violations"]
    return [v for v in violations if v.get("impact") in ("serious", "critical")]


async def test_a_wrong_password_is_told_and_the_sign_in_page_is_accessible(
    platform: Platform, user: tuple[str, str], watched: Watched
) -> None:
    page = watched.page
    await page.goto(platform.gateway + "/")
    await expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    assert await serious_violations(page) == []

    await page.get_by_label("Email", exact=True).fill(user[0])
    await page.get_by_label("Password", exact=True).fill("not-the-password")
    await page.get_by_role("button", name="Sign in").click()

    await expect(page.get_by_role("alert").first).to_have_text(
        "Wrong email or password (or the account is disabled)."
    )
    await expect(page.get_by_label("Password", exact=True)).to_be_focused()
    await expect(page.get_by_role("heading", name="Jobs")).to_be_hidden()
    assert len(watched.allow(r"status of 400")) == 1  # the refused POST /token


async def test_convert_follow_download_and_a_bad_file(
    platform: Platform,
    user: tuple[str, str],
    watched: Watched,
    context: BrowserContext,
    tmp_path: Path,
    artefacts: Path,
) -> None:
    page = watched.page
    await sign_in(page, platform, *user)
    video = make_video(tmp_path / "holiday clip.mp4", seconds=3)
    chooser = page.get_by_label("Video file")

    # Options the converter refuses are named next to the form, the field marked invalid.
    await chooser.set_input_files(video)
    await page.get_by_text("Conversion options").click()
    await page.get_by_label("Start (s)").fill("10")
    await page.get_by_label("End (s)").fill("5")
    await page.get_by_role("button", name="Convert").click()
    errors = page.locator("#convert-errors")
    await expect(errors).to_contain_text("end: must be later than start")
    await expect(page.get_by_label("End (s)")).to_have_attribute("aria-invalid", "true")
    assert len(watched.allow(r"status of 422")) == 1
    await page.get_by_label("Start (s)").fill("")
    await page.get_by_label("End (s)").fill("")

    # A real conversion, with a tag, followed live until its row says done.
    await page.get_by_label("Title").fill("Holiday")
    await page.get_by_role("button", name="Convert").click()
    row = job_row(page, "holiday clip.mp4")
    await expect(row.locator(".job-status")).to_have_text("done", timeout=90_000)
    await expect(errors).to_be_empty()
    await expect(page.locator("#status")).to_have_text("holiday clip.mp4: done")

    async with page.expect_download() as info:
        await row.get_by_role("link", name="Download").click()
    download = await info.value
    assert download.suggested_filename == "holiday clip.mp3"
    mp3 = tmp_path / "downloaded.mp3"
    await download.save_as(mp3)
    head = mp3.read_bytes()[:3]
    assert head == b"ID3" or (head[0] == 0xFF and head[1] & 0xE0 == 0xE0), head
    probed = ffprobe_json(mp3)
    assert probed["format"]["format_name"] == "mp3"
    assert probed["format"]["tags"]["title"] == "Holiday"

    # Random bytes named like a video: the row gives the converter's reason.
    junk = tmp_path / "x.mp4"
    junk.write_bytes(os.urandom(50_000))
    await chooser.set_input_files(junk)
    await page.get_by_role("button", name="Convert").click()
    bad = job_row(page, "x.mp4")
    await expect(bad.locator(".job-status")).to_have_text(re.compile(r"^failed: "), timeout=60_000)
    reason = await _api_reason(platform, *user, "x.mp4")
    await expect(bad.locator(".job-status")).to_have_text(f"failed: {reason}")
    names = await page.locator("li.job .job-name").all_text_contents()
    assert names[:2] == ["x.mp4", "holiday clip.mp4"]  # newest first

    assert await serious_violations(page) == []
    await page.screenshot(path=artefacts / "desktop.png", full_page=True)
    await page.set_viewport_size(PHONE)
    await page.get_by_role("heading", name="Jobs").scroll_into_view_if_needed()
    await page.evaluate("window.scrollTo(0, 0)")
    overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{overflow}px of horizontal scroll at 390px"
    assert await serious_violations(page) == []
    await page.screenshot(path=artefacts / "phone.png", full_page=True)
    if os.environ.get("UPDATE_DOCS_SCREENSHOTS") == "1":
        shutil.copyfile(artefacts / "desktop.png", DOCS / "web-ui.png")
        shutil.copyfile(artefacts / "phone.png", DOCS / "web-ui-phone.png")

    # Deleting the failed job removes its row; the keyboard stays in the jobs section.
    await bad.get_by_role("button", name="Delete").click()
    await expect(bad).to_have_count(0)
    await expect(page.get_by_role("heading", name="Jobs")).to_be_focused()
    assert "x.mp4" not in [job["filename"] for job in await _api_jobs(platform, *user)]


async def test_the_session_survives_a_reload_and_sign_out_revokes_it(
    platform: Platform, user: tuple[str, str], watched: Watched
) -> None:
    page = watched.page
    await sign_in(page, platform, *user)
    await page.reload()  # the access token was in memory: the refresh token renews it
    await expect(page.get_by_role("heading", name="Jobs")).to_be_visible()
    refresh_token = await page.evaluate("sessionStorage.getItem('mp3converter.refresh_token')")
    assert refresh_token

    await page.get_by_role("button", name="Sign out").click()

    await expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    await expect(page.get_by_role("alert").first).to_have_text("You are signed out.")
    assert await page.evaluate("sessionStorage.length") == 0
    async with platform.client() as client:
        reused = await client.post(
            "/token", data={"grant_type": "refresh_token", "refresh_token": refresh_token}
        )
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"


async def test_an_upload_shows_its_progress_and_can_be_cancelled(
    platform: Platform,
    user: tuple[str, str],
    watched: Watched,
    context: BrowserContext,
) -> None:
    page = watched.page
    await sign_in(page, platform, *user)
    # A slow uplink (about 200 kB/s), so the upload is still going when Cancel is pressed.
    cdp = await context.new_cdp_session(page)
    await cdp.send("Network.enable")
    await cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 200_000},
    )
    # Dropped on the drop zone rather than chosen (a drop as the browser dispatches it).
    await page.locator("#drop-zone").dispatch_event(
        "drop",
        {
            "dataTransfer": await page.evaluate_handle(
                """() => {
                    const transfer = new DataTransfer();
                    transfer.items.add(new File([new Uint8Array(3000000)], "big.mp4"));
                    return transfer;
                }"""
            )
        },
    )
    await expect(page.locator("#file-chosen")).to_have_text("big.mp4 (3.0 MB)")
    assert await page.get_by_label("Video file").evaluate("input => input.files[0].name") == (
        "big.mp4"
    )
    await page.get_by_role("button", name="Convert").click()

    text = page.locator("#upload-text")
    await expect(text).to_have_text(re.compile(r"^[1-9][\d.]* [kM]?B of 3\.0 MB \(\d+%\)$"))
    percent = int(re.findall(r"\((\d+)%\)", await text.inner_text())[0])
    assert 0 <= percent < 100
    await page.get_by_role("button", name="Cancel").click()

    await expect(page.locator("#convert-errors")).to_have_text("Upload cancelled.")
    await expect(page.get_by_role("button", name="Convert")).to_be_enabled()
    await expect(job_row(page, "big.mp4")).to_have_count(0)
    watched.allow(r"ERR_ABORTED|aborted")  # Chromium may log the aborted request


async def disable_webhooks(platform: Platform, reason: str) -> None:
    """Mark every webhook of the platform disabled, as the notification role does."""
    client = mongo.connect(platform.roles.env["MONGODB_URL"])
    try:
        hooks = client[platform.roles.env["MONGODB_DB"]]["webhooks"]
        await hooks.update_many({}, {"$set": {"enabled": False, "disabled_reason": reason}})
    finally:
        await client.close()


async def test_api_keys_webhooks_and_a_password_change(
    platform: Platform, watched: Watched
) -> None:
    email, password, changed = "keys@example.com", "keys-password-1", "keys-password-2"
    admin = await platform.token(ADMIN_EMAIL, ADMIN_PASSWORD)
    async with platform.client() as client:
        made = await client.post(
            "/users", headers=bearer(admin), json={"email": email, "password": password}
        )
    assert made.status_code == 201, made.text
    page = watched.page
    await sign_in(page, platform, email, password)

    # An API key: shown once, and it works as a bearer token; then revoked.
    await page.locator("summary", has_text="API keys").click()
    await expect(page.locator("#key-message")).to_have_text("No API keys.")
    await page.get_by_label("Key name").fill("laptop <b>script</b>")
    await page.get_by_role("button", name="Create key").click()
    secret = page.get_by_label('New API key "laptop <b>script</b>"')
    await expect(secret).to_be_focused()
    key = await secret.input_value()
    async with platform.client() as client:
        assert (await client.get("/jobs", headers=bearer(key))).status_code == 200
    row = page.locator("#key-list li")
    await expect(row.locator(".item-name")).to_have_text("laptop <b>script</b>")  # as text
    await row.get_by_role("button", name="Revoke").click()
    await expect(page.locator("#key-message")).to_have_text("No API keys.")

    # A webhook: its signing secret shown once, the endpoint listed, then deleted.
    await page.locator("summary", has_text="Webhooks").click()
    await page.get_by_label("Endpoint URL").fill("http://127.0.0.1:9/hook")
    await page.get_by_role("button", name="Add webhook").click()
    signing = page.get_by_label("Signing secret of the new webhook")
    await expect(signing).to_have_value(re.compile(r"^whsec_"))
    hook = page.locator("#webhook-list li")
    await expect(hook.locator(".item-name")).to_have_text("http://127.0.0.1:9/hook")
    await expect(hook.locator(".item-meta")).to_have_text("job.succeeded, job.failed; enabled")
    await expect(hook.get_by_role("button", name="Enable")).to_have_count(0)
    # Disabled as the notification role disables an endpoint whose deliveries kept failing:
    # the page shows why and turns it back on.
    await disable_webhooks(platform, "5 deliveries in a row failed")
    await page.reload()
    await page.locator("summary", has_text="Webhooks").click()
    await expect(hook.locator(".item-meta")).to_have_text(
        "job.succeeded, job.failed; disabled: 5 deliveries in a row failed"
    )
    await hook.get_by_role("button", name="Enable").click()
    await expect(hook.locator(".item-meta")).to_have_text("job.succeeded, job.failed; enabled")
    await expect(hook.get_by_role("button", name="Enable")).to_have_count(0)
    await hook.get_by_role("button", name="Delete").click()
    await expect(page.locator("#webhook-message")).to_have_text("No webhooks.")

    # A new password ends every session: the page signs out, and the new password works.
    await page.locator("summary", has_text="Change password").click()
    await page.get_by_label("Current password").fill(password)
    await page.get_by_label("New password").fill(changed)
    await page.get_by_role("button", name="Change password").click()
    await expect(page.get_by_role("alert").first).to_contain_text("Your password was changed")
    await sign_in(page, platform, email, changed)


async def test_the_page_is_small_cached_and_under_a_strict_csp(
    platform: Platform, user: tuple[str, str], watched: Watched, artefacts: Path
) -> None:
    page = watched.page
    transfers: list[tuple[str, int]] = []

    async def on_finished(request: Any) -> None:
        sizes = await request.sizes()
        transfers.append((request.url, sizes["responseBodySize"] + sizes["responseHeadersSize"]))

    page.on("requestfinished", on_finished)
    response = await page.goto(platform.gateway + "/")
    assert response is not None
    await expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    await page.wait_for_load_state("networkidle")
    headers = await response.all_headers()

    policy = headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "script-src 'self'" in policy
    assert "style-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert headers["cache-control"] == "no-cache"
    html = await page.content()
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "an inline script"
    assert not re.search(r"<style|\sstyle=", html), "an inline style"

    loaded = [url for url, _ in transfers]
    assets = [url for url in loaded if "/assets/" in url]
    assert len(assets) >= 3, loaded  # script, style, icon
    async with httpx.AsyncClient(timeout=30) as client:
        for url in assets:
            asset = await client.get(url)
            assert asset.status_code == 200, url
            assert asset.headers["cache-control"] == "public, max-age=31536000, immutable", url
            assert re.search(r"-[A-Za-z0-9]{8,}\.(js|css|svg)$", url), f"not content-hashed: {url}"
            assert asset.headers["x-content-type-options"] == "nosniff"

    total = sum(size for _, size in transfers)
    (artefacts / "first-load.json").write_text(
        json.dumps({"bytes_transferred_gzip": total, "requests": transfers}, indent=2)
    )
    print(f"web UI first load: {total} bytes transferred (gzip) in {len(transfers)} requests")
    assert total < FIRST_LOAD_BUDGET_BYTES, transfers


async def _api_jobs(platform: Platform, email: str, password: str) -> list[dict[str, Any]]:
    token = await platform.token(email, password)
    async with platform.client() as client:
        response = await client.get("/jobs", headers=bearer(token))
    assert response.status_code == 200, response.text
    jobs: list[dict[str, Any]] = response.json()["jobs"]
    return jobs


async def _api_reason(platform: Platform, email: str, password: str, filename: str) -> str:
    jobs = await _api_jobs(platform, email, password)
    failed = next(job for job in jobs if job["filename"] == filename)
    assert failed["status"] == "failed", failed
    reason: str = failed["error"]["reason"]
    return reason
