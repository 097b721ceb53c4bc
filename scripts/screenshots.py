"""Screenshots of the main pages, taken with Debian's chromium through Playwright, into docs/screenshots/.

Usage: python scripts/screenshots.py [BASE_URL] — with a server running `beian serve --demo` (make screenshots
starts one on a fresh demo database). Reads the demo credentials from $BEIAN_HOME/demo-credentials.json.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

OUT = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


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

        def shot(name: str, path: str) -> None:
            page.goto(base + path)
            page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)

        def login(user: str) -> None:
            page.goto(base + "/accounts/logout/") if False else None
            page.context.clear_cookies()
            page.goto(base + "/accounts/login/")
            page.fill("#id_username", user)
            page.fill("#id_password", creds["users"][user]["password"])
            page.click("button[type=submit]")

        shot("login", "/accounts/login/")
        login("applicant")
        shot("subjects", "/subjects/")
        page.click("text=深圳市南山小鹿网络有限公司")
        page.screenshot(path=str(OUT / "subject-blocked-actions.png"), full_page=True)
        page.goto(base + "/subjects/")
        page.click("text=北京云栈科技有限公司")
        page.screenshot(path=str(OUT / "subject-detail.png"), full_page=True)
        page.click("a.button:has-text('注销网站')")
        page.screenshot(path=str(OUT / "cancel-website.png"), full_page=True)
        page.go_back()
        page.click("a.button:has-text('变更网站信息')")
        page.screenshot(path=str(OUT / "change-website.png"), full_page=True)
        shot("orders", "/orders/")
        page.click("table a")
        page.screenshot(path=str(OUT / "order.png"), full_page=True)
        login("provider")
        shot("provider-queue", "/review/provider/")
        login("bureau-11")
        shot("bureau-queue", "/review/bureau/")
        shot("province-hunan", "/provinces/43")
        shot("blocked", "/blocked/?host=unfiled.example.cn")
        browser.close()
    print(f"screenshots written to {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
