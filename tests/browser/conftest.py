"""Fixtures of the browser journeys: Debian's chromium driven by Playwright (sync API) against
pytest-django's ``live_server``.

The browser is started once for the package. Playwright's sync API keeps an event loop in the main
thread, where the tests also use the Django ORM: ``DJANGO_ALLOW_ASYNC_UNSAFE`` is set while this package's
tests run and restored afterwards. Without /usr/bin/chromium the journeys are skipped with the reason
(CI installs it and counts skips as failures).
"""

from __future__ import annotations

import os

import pytest

CHROMIUM = os.environ.get("BEIAN_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
TIMEOUT_MS = 10_000


@pytest.fixture(scope="package")
def chromium():
    if not os.path.exists(CHROMIUM):
        pytest.skip("browser tests need Debian chromium: apt-get install -y chromium")
    from playwright.sync_api import expect, sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    expect.set_options(timeout=TIMEOUT_MS)
    driver = sync_playwright().start()
    browser = driver.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    try:
        yield browser
    finally:
        browser.close()
        driver.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


class Ui:
    """One browser tab on the live server, with what the journeys do over and over."""

    def __init__(self, page, base_url: str):
        self.page = page
        self.base = base_url.rstrip("/")
        self.dialogs: list[str] = []  # every confirm() question shown (and accepted)
        self.problems: list[str] = []  # CSP violations and script errors seen in the console
        page.on("dialog", self._dialog)
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.problems.append(f"page error: {exc}"))

    def _dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.accept()

    def _console(self, message) -> None:
        text = message.text
        if "Content Security Policy" in text or "Content-Security-Policy" in text:
            self.problems.append(f"CSP violation: {text}")
        elif message.type == "error" and "Failed to load resource" not in text:
            self.problems.append(f"console error: {text}")

    def url(self, path: str) -> str:
        return self.base + path

    def path(self) -> str:
        return self.page.url.removeprefix(self.base)

    def goto(self, path: str):
        self.page.goto(self.url(path))
        return self.page

    def sign_in(self, user, password: str | None = None) -> None:
        """Sign in through the form (signed out: the language chosen on the page stays, in its cookie)."""
        self.goto("/accounts/login/")
        self.page.fill("#id_username", user.username)
        self.page.fill("#id_password", password or "pw-" + user.username)
        with self.page.expect_navigation():
            self.page.click("main form button[type=submit]")

    def sign_out(self) -> None:
        with self.page.expect_navigation():
            self.page.click("form[action='/accounts/logout/'] button")

    def submit(self, form_selector: str, button: str = "button[type=submit]") -> None:
        """Click a form's submit button and wait for the page it leads to."""
        with self.page.expect_navigation():
            self.page.locator(form_selector).locator(button).first.click()

    def assert_clean(self) -> None:
        assert not self.problems, self.problems


@pytest.fixture
def ui(chromium, live_server):
    context = chromium.new_context(viewport={"width": 1200, "height": 900}, locale="zh-CN")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    try:
        yield Ui(page, live_server.url)
    finally:
        context.close()
