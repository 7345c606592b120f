"""The site as a visitor meets it: the Pelican build served by a real `cutout serve` (SQLite, the real
model) on a free loopback port, driven by Debian's Chromium through Playwright."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from e2e.test_server import server_env, serving
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    Request,
    Route,
    ViewportSize,
    expect,
    sync_playwright,
)
from services import require_service

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}
PAGES = ["/", "/login/", "/signup/", "/removebg/", "/pricing/", "/faq/", "/contact/"]
# Playwright's 5 s default fails on a busy machine; a wait ends when its state arrives, so only failures wait long.
WAIT_MS = 30_000
expect.set_options(timeout=WAIT_MS)


@dataclass
class Site:
    url: str
    env: dict[str, str]

    def cli(self, *args: str) -> str:
        cutout = Path(sys.executable).with_name("cutout")
        done = subprocess.run([str(cutout), *args], env=self.env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout


@pytest.fixture(scope="package")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """Builds the site the way `make site` does (warnings fatal), then serves it with the API."""
    require_service(CHROMIUM.exists(), f"Chromium at {CHROMIUM} (make chromium installs it)")
    data_dir = tmp_path_factory.mktemp("var")
    env = server_env(data_dir, CUTOUT_SITE_DIR=str(data_dir / "site"))
    pelican = Path(sys.executable).with_name("pelican")
    build = subprocess.run(
        [str(pelican), "--fatal", "warnings", "-s", str(ROOT / "pelican.conf.py")],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    with serving(env) as url:
        yield Site(url, env)


# Package scope: Playwright's sync driver keeps an event loop running in this thread, which the
# async tests of the other packages need free, so it stops when this package's tests are done.
@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright: Playwright, site: Site) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@dataclass
class Visit:
    """One visitor's browser: what it logged, what broke and where it tried to go."""

    context: BrowserContext
    page: Page
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    outside_requests: list[str] = field(default_factory=list)


def open_visit(browser: Browser, site: Site, viewport: ViewportSize = DESKTOP) -> Visit:
    context = browser.new_context(base_url=site.url, viewport=viewport, accept_downloads=True)
    context.set_default_timeout(WAIT_MS)
    visit = Visit(context, context.new_page())

    def guard(route: Route, request: Request) -> None:
        if request.url.startswith(site.url + "/") or request.url.startswith(("blob:", "data:")):
            route.continue_()
        else:
            visit.outside_requests.append(request.url)
            route.abort()

    context.route("**/*", guard)
    visit.page.on("console", lambda m: visit.console_errors.append(m.text) if m.type == "error" else None)
    visit.page.on("pageerror", lambda error: visit.page_errors.append(str(error)))
    return visit


@pytest.fixture
def visit(browser: Browser, site: Site) -> Iterator[Visit]:
    visit = open_visit(browser, site)
    yield visit
    visit.context.close()
    assert visit.page_errors == []  # no script ever throws
    assert visit.outside_requests == []  # no request leaves the site
