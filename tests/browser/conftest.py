"""Browser tests: the test app served by a real uvicorn on a free port, driven by Playwright in Debian's
Chromium (``/usr/bin/chromium``, ``executable_path``: no browser download).

Fixtures: ``live_url`` (the server), ``browser`` (one Chromium per run), ``page`` (a fresh 1366×768 zh-CN
context per test; the test fails on any JavaScript console error, uncaught exception, failed request, or
request to a host other than localhost; a screenshot is saved to ``var/screenshots/<test>.png``) and
``sign_in(page, username)``. A test that means to land on an error page marks it:
``@pytest.mark.http_errors(404)``.

Without Chromium the tests are skipped with one message at the end; ``HAZARD_REQUIRE_BROWSER=1`` (CI) makes
a missing Chromium an error instead.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.factories import PASSWORD
from tests.live import serving

CHROMIUM = os.environ.get("HAZARD_CHROMIUM", "/usr/bin/chromium")
REQUIRED = os.environ.get("HAZARD_REQUIRE_BROWSER") == "1"
SKIP_MESSAGE = "browser tests skipped: chromium not found"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
# The context's locale sets navigator.language and Intl, but a date input's own format (年/月/日 rather than
# mm/dd/yyyy) follows the browser's interface language: that is --lang.
ARGS = [
    "--lang=zh-CN",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

_skipped: list[str] = []


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the browser tests; without Chromium (and not required) set them aside, to be named once at the end."""
    here = Path(__file__).parent
    browser_items = [item for item in items if here in Path(str(item.fspath)).parents]
    for item in browser_items:
        item.add_marker(pytest.mark.browser)
    if browser_items and not os.path.exists(CHROMIUM) and not REQUIRED:
        _skipped.extend(item.nodeid for item in browser_items)
        items[:] = [item for item in items if item not in browser_items]
        config.hook.pytest_deselected(items=browser_items)


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if _skipped:
        terminalreporter.write_sep("=", f"{SKIP_MESSAGE} ({len(_skipped)} tests; looked for {CHROMIUM})", yellow=True)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing (apt-get install chromium fonts-noto-cjk); HAZARD_REQUIRE_BROWSER=1")
    return CHROMIUM


@pytest.fixture(scope="session")
def live_url(app, world) -> Iterator[str]:
    with serving(app, "live-uvicorn") as url:
        yield url


@pytest.fixture(scope="session")
def browser(chromium_path: str):
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    # LANGUAGE picks the interface language; LANG stays a locale every machine has (C.UTF-8): a missing
    # zh_CN.UTF-8 locale would make Chromium lose non-ASCII file names (an upload of 现场.jpg arrives empty).
    env = {**os.environ, "LANG": "C.UTF-8", "LANGUAGE": "zh_CN:zh"}
    chromium = pw.chromium.launch(executable_path=chromium_path, args=ARGS, headless=True, env=env)
    yield chromium
    chromium.close()
    pw.stop()


@pytest.fixture
def page(request: pytest.FixtureRequest, browser, live_url: str, db, client):
    """A fresh browser context per test (1366×768, zh-CN, China time) that records what must not happen."""
    context = browser.new_context(
        viewport={"width": 1366, "height": 768},
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
        accept_downloads=True,
        base_url=live_url,
    )
    context.set_default_timeout(15_000)
    problems: list[str] = []
    # Chromium logs "Failed to load resource: … status of 404" for every error page; a test that means to
    # reach one says so with @pytest.mark.http_errors(404, ...).
    marker = request.node.get_closest_marker("http_errors")
    expected = {int(s) for s in marker.args} if marker else set()

    def on_console(msg) -> None:
        if msg.type != "error":
            return
        status = re.search(r"Failed to load resource: the server responded with a status of (\d+)", msg.text)
        if status and int(status.group(1)) in expected:
            return
        problems.append(f"console {msg.type}: {msg.text} ({msg.location.get('url', '')})")

    def guard(route) -> None:
        host = urlsplit(route.request.url).hostname
        if route.request.url.startswith(("data:", "blob:")) or host in LOCAL_HOSTS:
            route.continue_()
        else:
            problems.append(f"request to a third-party host: {route.request.url}")
            route.abort()

    context.route("**/*", guard)
    pg = context.new_page()
    pg.on("console", on_console)
    pg.on("pageerror", lambda e: problems.append(f"uncaught exception: {e}"))
    # A navigation cancels what the page it leaves was still loading (net::ERR_ABORTED): not a fault.
    pg.on(
        "requestfailed",
        lambda r: (
            None if "ERR_ABORTED" in (r.failure or "") else problems.append(f"request failed: {r.url} ({r.failure})")
        ),
    )
    yield pg
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^\w.-]+", "_", request.node.name)
    try:
        pg.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    finally:
        context.close()
    if problems:
        pytest.fail("the browser saw problems:\n" + "\n".join(problems), pytrace=False)


@pytest.fixture
def screenshot(request: pytest.FixtureRequest) -> Callable[..., None]:
    """``screenshot(page, "name")``: one more screenshot of this test, beside the one taken at its end."""

    def take(pg, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        stem = re.sub(r"[^\w.-]+", "_", f"{request.node.name}-{name}")
        pg.screenshot(path=str(SCREENSHOTS / f"{stem}.png"), full_page=True)

    return take


@pytest.fixture
def sign_in(live_url: str) -> Callable[..., None]:
    def do(page, username: str, password: str = PASSWORD) -> None:
        page.goto("/login")
        page.get_by_label("用户名").fill(username)
        page.get_by_label("密码").fill(password)
        page.get_by_role("button", name="登录").click()
        page.wait_for_url(re.compile(r"^(?!.*/login).*$"))

    return do
