"""A real OpenID provider for the single sign-on tests: the certified ``oidc-provider`` package for Node.js
(tests/oidc/provider.mjs, version pinned in package-lock.json, see VENDORED.md), started once per run on a free
localhost port and stopped at the end. Its packages are installed with ``npm ci`` into a cache directory
(``var/oidc-provider/<hash of the lock>``, or HAZARD_OIDC_CACHE) the first time.

Fixtures (imported by tests/oidc/conftest.py and by the browser test that uses them): ``oidc_provider`` (the
running provider), ``sso`` (the app's settings pointed at it for one test: the live server and the TestClient
both see them) and ``live_url`` (the app on a real port, as in tests/browser).

Without node and npm the tests that need the provider (tests/oidc, and those marked ``oidc`` elsewhere) are
set aside and named once at the end (the hooks below, installed by tests/conftest.py); ``HAZARD_REQUIRE_OIDC=1``
(CI) makes that an error instead.

The provider runs on the machine's clock. A run with HAZARD_TEST_NOW moves only our process's clock, so
``sso`` brings our clock back to the machine's for the test (the dates those runs look for are not in the
sign-in), and a test that needs an expired ID token moves ours on past the token's hour.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
import time_machine

from hazard_registry.config import Settings
from tests.browser.conftest import live_url  # noqa: F401  (the same live server fixture as the browser tests)
from tests.live import free_port

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
NODE, NPM = shutil.which("node"), shutil.which("npm")
REQUIRED = os.environ.get("HAZARD_REQUIRE_OIDC") == "1"
SKIP_MESSAGE = "single sign-on tests skipped: node and npm not found (apt-get install nodejs npm)"
CACHE = Path(os.environ.get("HAZARD_OIDC_CACHE") or ROOT / "var" / "oidc-provider")

CLIENT_ID, CLIENT_SECRET = "hazard-registry", "test-client-secret-0123456789abcdef"
OTHER_CLIENT_ID, OTHER_CLIENT_SECRET = "another-application", "another-secret-0123456789abcdef"
OTHER_REDIRECT = "http://127.0.0.1:9/elsewhere/callback"  # never visited: the test reads the code off the redirect
SCOPES = "openid profile email org"
PASSWORD = "any-password"  # the package's development login form takes any password for a known account

# The provider's people: the claims each one's ID token carries (sub is the key).
ACCOUNTS = {
    "alice": {"name": "李爱丽", "email": "alice@example.gov.cn", "org_code": "NS-YJ", "groups": ["officers"]},
    "bob": {"name": "王博", "email": "bob@example.gov.cn", "org_code": "NS-YJ", "groups": ["officers"]},
    "carol": {"name": "陈可", "org_code": "NS-YJ", "groups": ["officers"]},
    "dora": {"name": "赵多拉", "org_code": "NS-YJ", "groups": ["officers"]},
    "erin": {"name": "钱尔", "org_code": "NS-YJ", "groups": ["officers"]},
    "zhang": {"name": "张南山", "email": "zhang@example.gov.cn", "org_code": "NS-YJ", "groups": ["closers", "x"]},
    "wang": {"name": "王福田", "org_code": "NS-YJ", "groups": ["officers"]},
    "stranger": {"name": "陌生人", "org_code": "ELSEWHERE", "groups": []},
    "browser": {"name": "浏览器用户", "org_code": "NS-YJ", "groups": ["officers"]},
    "browser-unmapped": {"name": "未开通", "org_code": "NONE", "groups": []},
}

_skipped: list[str] = []


def _needs_provider(item: pytest.Item) -> bool:
    return HERE in Path(str(item.fspath)).parents or item.get_closest_marker("oidc") is not None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without node/npm (and not required) set the provider's tests aside, to be named once at the end."""
    mine = [item for item in items if _needs_provider(item)]
    if mine and not (NODE and NPM) and not REQUIRED:
        _skipped.extend(item.nodeid for item in mine)
        items[:] = [item for item in items if item not in mine]
        config.hook.pytest_deselected(items=mine)


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if _skipped:
        terminalreporter.write_sep("=", f"{SKIP_MESSAGE} ({len(_skipped)} tests)", yellow=True)


@dataclass
class RunningProvider:
    issuer: str
    config_path: Path


def _installed() -> Path:
    """The provider's directory with node_modules from the lock file (``npm ci`` the first time)."""
    lock = (HERE / "package-lock.json").read_bytes() + (HERE / "package.json").read_bytes()
    target = CACHE / hashlib.sha256(lock).hexdigest()[:16]
    if not (target / "node_modules" / "oidc-provider" / "package.json").exists():
        target.mkdir(parents=True, exist_ok=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copy(HERE / name, target / name)
        assert NPM is not None
        subprocess.run(
            [NPM, "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"],
            cwd=target,
            check=True,
            timeout=600,
        )
    shutil.copy(HERE / "provider.mjs", target / "provider.mjs")
    return target


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningProvider]:
    if not (NODE and NPM):
        pytest.fail(f"{SKIP_MESSAGE}; HAZARD_REQUIRE_OIDC=1")
    directory = _installed()
    port = free_port()
    work = tmp_path_factory.mktemp("oidc")
    config_path = work / "provider.json"
    config = {
        "port": port,
        "clients": [
            {
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "redirect_uris": [
                    "http://127.0.0.1:8000/login/oidc/callback",
                    "http://127.0.0.1:8000/api/v1/auth/oidc/callback",
                ],
                "post_logout_redirect_uris": ["http://127.0.0.1:8000/login"],
            },
            {
                "client_id": OTHER_CLIENT_ID,
                "client_secret": OTHER_CLIENT_SECRET,
                "redirect_uris": [OTHER_REDIRECT],
                "post_logout_redirect_uris": [],
            },
        ],
        "accounts": ACCOUNTS,
    }
    config_path.write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
    log = (work / "provider.log").open("w")
    assert NODE is not None
    proc = subprocess.Popen(
        [NODE, str(directory / "provider.mjs"), str(config_path)], cwd=directory, stdout=log, stderr=subprocess.STDOUT
    )
    issuer = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("the OpenID provider did not start:\n" + (work / "provider.log").read_text())
        time.sleep(0.1)
    yield RunningProvider(issuer=issuer, config_path=config_path)
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@contextmanager
def settings_changed(app, **update: object) -> Iterator[Settings]:
    """The app's settings with ``update`` for the duration (the live server and the TestClient see them)."""
    before = app.state.settings
    app.state.settings = before.model_copy(update=update)
    try:
        yield app.state.settings
    finally:
        app.state.settings = before


@pytest.fixture
def sso(app, world, oidc_provider: RunningProvider) -> Iterator[Settings]:
    """The app's settings pointed at the provider for this test, on the machine's clock (see the docstring).
    Bearer tokens are dropped on the way in and on the way out: those issued on one clock are not valid on the
    other (not yet valid on a clock behind it, expired on one ahead)."""
    world.tokens.clear()
    try:
        yield from _on_the_machines_clock(app, oidc_provider)
    finally:
        world.tokens.clear()


def _on_the_machines_clock(app, oidc_provider: RunningProvider) -> Iterator[Settings]:
    with settings_changed(
        app,
        oidc_issuer=oidc_provider.issuer,
        oidc_client_id=CLIENT_ID,
        oidc_client_secret=CLIENT_SECRET,
        oidc_scopes=SCOPES,
        oidc_display_name="测试统一身份认证平台",
    ) as settings:
        if not time_machine.escape_hatch.is_travelling():
            yield settings
            return
        with time_machine.travel(time_machine.escape_hatch.time.time(), tick=True):
            yield settings


def to_callback(http: httpx.Client, start: str, login: str) -> str:
    """Follow ``start`` (our authorize URL) through the provider — its login form as ``login``, unless the
    provider's session already knows the user — up to the redirect back to one of our callbacks; returns that
    URL without requesting it."""
    r = http.get(start)
    for _ in range(20):
        if r.is_redirect:
            location = urljoin(str(r.url), r.headers["location"])
            if urlsplit(location).path.endswith("/oidc/callback"):
                return location
            r = http.get(location)
            continue
        form = re.search(r'<form[^>]*action="([^"]+)"', r.text)
        assert r.status_code == 200 and form, r.text
        r = http.post(
            urljoin(str(r.url), html.unescape(form.group(1))),
            data={"prompt": "login", "login": login, "password": PASSWORD},
        )
    raise AssertionError("the provider never sent the user back")
