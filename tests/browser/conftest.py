"""Browser tests: Playwright for Python driving Debian's chromium against pytest-django's live server.

Playwright's own browser download cannot work where this project runs (no
network but the package registries), so the tests launch ``/usr/bin/chromium``
(``scripts/test`` installs Debian's package when it is missing) headless,
without the sandbox (CI runs as root) and without any of its background
network traffic. A missing chromium fails the tests, unless
``MTC_SKIP_CHROMIUM=1`` says it was left out on purpose.

Screenshots go to ``test-artifacts/screenshots/`` (not in git): look at them.

Playwright's synchronous API keeps an asyncio loop on the test's thread,
which Django's async-safety check takes for async code; the tests talk to
the database from that thread on purpose (to set up data and to run an
import while the browser watches), hence ``DJANGO_ALLOW_ASYNC_UNSAFE`` for
the duration of these tests only.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.conf import settings as django_settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = Path(django_settings.BASE_DIR) / "test-artifacts" / "screenshots"
PASSWORD = "browser-test-password"


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        if os.environ.get("MTC_SKIP_CHROMIUM") == "1":
            pytest.skip(f"{CHROMIUM} is missing and MTC_SKIP_CHROMIUM=1")
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package (scripts/test does, as root)")
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            yield launched
            launched.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser, import_env, live_server):  # the live server runs with import_env's settings
    context = browser.new_context(
        viewport={"width": 1280, "height": 900},
        accept_downloads=True,
        base_url=live_server.url,
        reduced_motion="reduce",  # charts drawn at once, so screenshots show their final state
    )
    context.set_default_timeout(15_000)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def admin_user(django_user_model):
    return django_user_model.objects.create_superuser(username="walker", email="walker@example.com", password=PASSWORD)


@pytest.fixture
def logged_in(page, admin_user):
    page.goto("/admin/login/?next=/admin/")
    page.fill("#id_username", admin_user.username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")
    return page


@pytest.fixture
def screenshot():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
