"""Screenshots of the main pages, taken with Debian's chromium through Playwright, into docs/screenshots/.

Usage: python scripts/screenshots.py [BASE_URL] — with a server running `beian serve --demo` on a fresh demo
database (make screenshots starts one). Reads the demo credentials from $BEIAN_HOME/demo-credentials.json.

The script walks the console like a user: besides looking at pages it submits a wrong filing password
(to show the attempts left), types a filed domain into the new-filing form (the inline check and the
offline way), and submits a cancellation in Hunan (so that the bureau's queue shows its Friday batch).
Run it on a fresh demo database: the second run finds that cancellation already made.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

OUT = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
HUNAN_SUBJECT = "湘ICP备2020012345号"


def main() -> int:
    base = (sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000").rstrip("/")
    creds = json.loads(
        (Path(os.environ.get("BEIAN_HOME", "var")) / "demo-credentials.json").read_text("utf-8")
    )
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=os.environ.get("BEIAN_CHROMIUM", "/usr/bin/chromium"), args=ARGS
        )
        page = browser.new_page(viewport={"width": 1200, "height": 900}, locale="zh-CN")
        page.set_default_timeout(15_000)
        page.on("dialog", lambda dialog: dialog.accept())  # the console's "are you sure?" questions

        def save(name: str) -> None:
            page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)

        def shot(name: str, path: str) -> None:
            page.goto(base + path)
            save(name)

        def login(user: str) -> None:
            page.context.clear_cookies()
            page.goto(base + "/accounts/login/")
            page.fill("#id_username", user)
            page.fill("#id_password", creds["users"][user]["password"])
            with page.expect_navigation():
                page.click("main button[type=submit]")

        def submit(form: str) -> None:
            with page.expect_navigation():
                page.locator(form).locator("button[type=submit]").first.click()

        # Visitors: sign-in (with the demo accounts), the block page, the province directory.
        shot("login", "/accounts/login/")
        shot("blocked", "/blocked/?host=unfiled.example.cn")
        shot("provinces", "/provinces/")
        shot("province-hunan", "/provinces/43")

        # The applicant: subjects, a subject whose actions wait for an open order, the legacy website.
        login("applicant")
        shot("subjects", "/subjects/")
        page.click("text=深圳市南山小鹿网络有限公司")
        save("subject-blocked-actions")
        page.goto(base + "/subjects/")
        page.click("text=北京云栈科技有限公司")
        save("subject-detail")
        page.click("a.button:has-text('变更网站信息')")
        save("change-website")
        page.go_back()
        page.click("a.button:has-text('注销网站')")
        save("cancel-website")
        page.check("#id_acknowledge_irreversible")
        page.fill("#id_password", "wrong-password")
        submit("main form:has(#id_password)")
        expect(page.locator("#id_password-error")).to_be_visible()
        save("cancel-website-wrong-password")
        shot("orders", "/orders/")
        page.click("table a")
        save("order")

        # Another applicant types a domain someone else has filed: the inline check says where to go.
        login("applicant2")
        page.goto(base + "/filings/new/")
        page.fill("#id_domain", "yunzhan.net")
        page.locator("#id_domain").press("Tab")
        expect(page.locator("#domain-check .field-error")).to_be_visible()
        page.locator("#id_domain").scroll_into_view_if_needed()
        save("new-filing-domain-check")
        # ... and cancels the Hunan website: straight to the bureau, in Friday's batch.
        page.goto(base + "/subjects/")
        page.click("text=长沙麓山教育咨询有限公司")
        page.click("a.button:has-text('注销网站')")
        page.fill("#id_password", creds["filing_passwords"][HUNAN_SUBJECT])
        page.fill("#id_reason", "网站停止运营")
        submit("main form:has(#id_password)")
        save("order-at-bureau")

        login("provider")
        shot("provider-queue", "/review/provider/")
        page.click("main table a")
        save("review-order")
        login("bureau-43")
        shot("bureau-queue", "/review/bureau/")
        browser.close()
    print(f"screenshots written to {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
