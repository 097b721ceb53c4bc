"""The seed's journeys in a real browser, each from sign-in to the visible result.

Chromium (Debian's) through Playwright against the live server; data made through the real services.
Each journey also fails on any Content-Security-Policy violation or script error the browser reports.
"""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest
from django.core import mail
from playwright.sync_api import expect

from beian.notify.backends import read_sms_log
from beian.notify.services import outbox_deliver_due
from beian.orders import services
from beian.orders.models import Order
from beian.registry.models import Domain, Subject
from tests import factories as f

pytestmark = pytest.mark.django_db(transaction=True)

TEXT = {
    "zh-hans": {
        "reason": "该主体有进行中的订单 #{n}（变更网站，待接入商初审）：放弃该订单，或等待管局审核完成后再注销",
        "wrong_password": "备案密码不正确，还可以再试 4 次",
        "at_bureau": "待管局审核",
        "approved": "审核通过",
        "at_provider": "待接入商初审",
        "new_filing": "首次备案",
    },
    "en": {
        "reason": "The subject has an order in progress, #{n} (change website, awaiting provider review): "
        "abandon it, or wait until the bureau has decided, then cancel",
        "wrong_password": "The filing password is wrong; 4 attempts left",
        "at_bureau": "awaiting bureau review",
        "approved": "approved",
        "at_provider": "awaiting provider review",
        "new_filing": "new filing",
    },
}


def fill_new_filing(page, *, domain: str, n: int) -> None:
    page.select_option("#id_province", "11")
    page.select_option("#id_nature", "enterprise")
    page.select_option("#id_certificate_type", "uscc")
    page.fill("#id_certificate_number", f.uscc(800000 + n))
    page.fill("#id_name", f"浏览器测试公司{n}")
    page.fill("#id_address", "北京市东城区")
    page.fill("#id_responsible_name", "赵六")
    page.fill("#id_responsible_mobile", "13712345678")
    page.fill("#id_responsible_email", f"zhao{n}@example.cn")
    page.fill("#id_website_name", "新的网站")
    page.fill("#id_website_responsible_name", "赵六")
    page.fill("#id_website_responsible_mobile", "13712345678")
    page.fill("#id_website_responsible_email", f"zhao{n}@example.cn")
    page.fill("#id_domain", domain)
    page.locator("#id_domain").press("Tab")  # the change event: htmx asks /validate/domain


def approve(ui, reviewer, order: Order, queue: str) -> None:
    """A reviewer signs in, opens the order from the queue and approves it."""
    ui.sign_in(reviewer)
    assert ui.path() == f"/review/{queue}/"
    with ui.page.expect_navigation():
        ui.page.click(f"a[href='/review/orders/{order.pk}/']")
    ui.submit(f"form[action='/review/orders/{order.pk}/approve/']", "button:not([formaction])")
    assert ui.path() == f"/review/{queue}/"
    expect(ui.page.locator(".messages .alert.success")).to_contain_text(f"#{order.pk}")
    expect(ui.page.locator(f"a[href='/review/orders/{order.pk}/']")).to_have_count(0)
    ui.sign_out()


def cancel_website_then_refile(ui, lang: str) -> None:
    """Journey 1: cancel-website blocked by an open change order → abandon it → wrong, then right filing
    password → the bureau approves → the website is cancelled, the domain free → another applicant files it."""
    t = TEXT[lang]
    page = ui.page
    owner, buyer = f.user(), f.user()
    bureau = f.user(role="bureau_reviewer", province="11")
    subject = f.filed_subject(owner, domains_per_site=(["shop-one.cn"], ["shop-two.cn"]))
    site1, site2 = subject.websites.order_by("sequence")
    blocking = services.change_website_submit(actor=owner, website=site2, changes={"name": "新版网站"})

    ui.goto("/accounts/login/")
    if lang == "en":
        with page.expect_navigation():
            page.click("form.lang button[name=language]")
        expect(page.locator("html")).to_have_attribute("lang", "en")
        expect(page.locator("form.lang button[name=language]")).to_have_text("中文")
    ui.sign_in(owner)
    assert ui.path() == "/subjects/"
    expect(page.locator("html")).to_have_attribute("lang", lang)
    with page.expect_navigation():
        page.locator(f"a[href='/subjects/{subject.pk}/']").first.click()

    # The action is disabled, with the reason and the way out.
    why = page.locator(f"#why-cancel_website-{site1.pk}")
    expect(why).to_contain_text(t["reason"].format(n=blocking.pk))
    expect(page.locator(f"button[aria-describedby='why-cancel_website-{site1.pk}']")).to_be_disabled()
    expect(page.locator(f"a[href='/websites/{site1.pk}/cancel/']")).to_have_count(0)
    with page.expect_navigation():
        why.locator(f"form[action='/orders/{blocking.pk}/abandon/'] button").click()
    assert len(ui.dialogs) == 1  # 确定放弃该订单吗？ asked and accepted
    assert ui.path() == f"/subjects/{subject.pk}/"
    expect(page.locator(".messages .alert.success")).to_contain_text(f"#{blocking.pk}")
    assert Order.objects.get(pk=blocking.pk).state == "abandoned"

    # 注销网站: the preview, a wrong password (attempts left beside the field), then the right one.
    with page.expect_navigation():
        page.click(f"a[href='/websites/{site1.pk}/cancel/']")
    expect(page.locator("main table")).to_contain_text(site1.number)
    expect(page.locator("main table")).to_contain_text("shop-one.cn")
    expect(page.locator("main table")).not_to_contain_text("shop-two.cn")
    page.fill("#id_password", "not-the-password")
    ui.submit("main form:has(#id_password)")
    expect(page.locator("#id_password-error")).to_contain_text(t["wrong_password"])
    page.fill("#id_password", f.PASSWORD)
    ui.submit("main form:has(#id_password)")
    order = Order.objects.get(subject=subject, kind="cancel_website")
    assert ui.path() == f"/orders/{order.pk}/"
    expect(page.locator("h1")).to_contain_text(t["at_bureau"])
    expect(page.locator(f"form[action='/orders/{order.pk}/abandon/']")).to_have_count(0)
    ui.sign_out()

    approve(ui, bureau, order, "bureau")

    # The applicant sees the website cancelled and its domain free.
    ui.sign_in(owner)
    ui.goto(f"/orders/{order.pk}/")
    expect(page.locator("h1")).to_contain_text(t["approved"])
    expect(page.locator("main p.alert.success")).to_be_visible()
    if lang == "zh-hans":
        expect(page.locator("main p.alert.success")).to_contain_text("现在可以重新备案")
    ui.goto(f"/subjects/{subject.pk}/")
    expect(page.locator(f"a[href='/websites/{site1.pk}/cancel/']")).to_have_count(0)
    expect(page.locator(f"a[href='/websites/{site2.pk}/cancel/']")).to_have_count(1)
    expect(page.locator("main section.card").last).to_contain_text(site1.number)  # 已注销的网站
    ui.goto("/filings/new/")
    page.fill("#id_domain", "www.shop-one.cn")
    page.locator("#id_domain").press("Tab")
    expect(page.locator("#domain-check")).to_contain_text("✓")
    ui.sign_out()

    # Another applicant files the domain.
    ui.sign_in(buyer)
    with page.expect_navigation():
        page.click("main a.button[href='/filings/new/']")
    fill_new_filing(page, domain="shop-one.cn", n=buyer.pk)
    expect(page.locator("#domain-check")).to_contain_text("shop-one.cn")
    expect(page.locator("#domain-check")).to_contain_text("✓")
    ui.submit("main form[method=post]")
    filing = Order.objects.get(kind="new_filing")
    assert ui.path() == f"/orders/{filing.pk}/"
    expect(page.locator("h1")).to_contain_text(t["new_filing"])
    expect(page.locator("h1")).to_contain_text(t["at_provider"])
    held = Domain.objects.get(name="shop-one.cn", status="reserved")
    assert held.website.subject.owner_id == buyer.pk
    ui.assert_clean()


def test_cancel_website_blocked_abandoned_cancelled_and_refiled(ui):
    cancel_website_then_refile(ui, "zh-hans")


def test_the_same_journey_in_english(ui):
    cancel_website_then_refile(ui, "en")


def test_cancel_subject_with_sms_verification(ui, settings, tmp_path, monkeypatch):
    """Journey 2: 注销主体 in SMS mode: the code page, a wrong code, the right code, approval."""
    settings.BEIAN_CANCELLATION_VERIFICATION = "sms"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    monkeypatch.setenv("BEIAN_SMS_FILE", str(tmp_path / "sms.log"))
    page = ui.page
    owner = f.user()
    bureau = f.user(role="bureau_reviewer", province="11")
    subject = f.filed_subject(owner, domains_per_site=(["sms-one.cn", "sms-one.net"], ["sms-two.cn"]))
    sites = list(subject.websites.order_by("sequence"))

    ui.sign_in(owner)
    ui.goto(f"/subjects/{subject.pk}/")
    with page.expect_navigation():
        page.click(f"a[href='/subjects/{subject.pk}/cancel/']")
    table = page.locator("main table")
    for text in (sites[0].number, sites[1].number, "sms-one.cn", "sms-one.net", "sms-two.cn"):
        expect(table).to_contain_text(text)
    expect(page.locator("#id_password")).to_have_count(0)
    expect(page.locator("main .info-box")).to_contain_text("短信验证码")
    ui.submit("main form[method=post]")
    order = Order.objects.get(subject=subject)
    assert ui.path() == f"/orders/{order.pk}/verify/"
    mobile = subject.responsible_mobile
    expect(page.locator("main")).to_contain_text(f"{mobile[:3]}****{mobile[-4:]}")
    resend = page.locator(f"form[action='/orders/{order.pk}/resend/'] button")
    expect(resend).to_be_disabled()  # console.js counts down to the end of the 60-second cooldown
    expect(resend).to_have_text(re.compile(r"\(\d+s\)$"))

    outbox_deliver_due()
    texts = [m["text"] for m in read_sms_log() if m["to"] == mobile and "验证码" in m["text"]]
    assert len(texts) == 1 and subject.number in texts[0]
    code = re.search(r"验证码 (\d{6})", texts[0]).group(1)
    page.fill("#id_code", f"{(int(code) + 1) % 1_000_000:06d}")
    ui.submit("main form:has(#id_code)")
    expect(page.locator("#id_code-error")).to_contain_text("短信验证码不正确，还可以再试 4 次")
    page.fill("#id_code", code)
    ui.submit("main form:has(#id_code)")
    assert ui.path() == f"/orders/{order.pk}/"
    expect(page.locator(".messages .alert.success")).to_contain_text("短信核验通过")
    expect(page.locator("h1")).to_contain_text("待管局审核")
    expect(page.locator("ol.stepper li.done", has_text="短信核验")).to_have_count(1)
    ui.sign_out()

    approve(ui, bureau, order, "bureau")

    ui.sign_in(owner)
    row = page.locator("tbody tr", has_text=subject.number)
    expect(row).to_contain_text("已注销")
    ui.goto(f"/subjects/{subject.pk}/")
    expect(page.locator("h1")).to_contain_text("已注销")
    past = page.locator("main section.card", has_text="已注销的网站")
    for site in sites:
        expect(past).to_contain_text(site.number)
    expect(page.locator("main a.button")).to_have_count(0)  # nothing left to do
    assert Subject.objects.get(pk=subject.pk).status == "cancelled"
    assert {s.status for s in subject.websites.all()} == {"cancelled"}
    ui.assert_clean()


def test_remove_one_domain_of_a_legacy_website(ui):
    """Journey 3: drop one domain of three through 变更网站信息; provider and bureau approve."""
    page = ui.page
    owner = f.user()
    provider = f.user(role="provider_reviewer")
    bureau = f.user(role="bureau_reviewer", province="11")
    subject = f.filed_subject(owner, domains_per_site=(["legacy.cn", "legacy.net", "legacy.com"],))
    site = subject.websites.get()

    ui.sign_in(owner)
    ui.goto(f"/subjects/{subject.pk}/")
    expect(page.locator("main ul.domains code")).to_have_text(["legacy.cn", "legacy.net", "legacy.com"])
    expect(page.locator("main")).to_contain_text("请勿注销网站")
    with page.expect_navigation():
        page.click(f"a[href='/websites/{site.pk}/change/']")
    page.check("input[name=remove_domains][value='legacy.net']")
    ui.submit("main form[method=post]")
    order = Order.objects.get(subject=subject)
    assert ui.path() == f"/orders/{order.pk}/"
    expect(page.locator("h1")).to_contain_text("待接入商初审")
    expect(page.locator("dd", has_text="legacy.net")).to_have_count(1)
    ui.sign_out()

    approve(ui, provider, order, "provider")
    approve(ui, bureau, order, "bureau")

    ui.sign_in(owner)
    ui.goto(f"/subjects/{subject.pk}/")
    expect(page.locator("main ul.domains code")).to_have_text(["legacy.cn", "legacy.com"])
    ui.goto(f"/orders/{order.pk}/")
    expect(page.locator("h1")).to_contain_text("审核通过")
    assert Domain.objects.get(name="legacy.net").status == "released"
    assert set(Domain.objects.filter(status="active").values_list("name", flat=True)) == {
        "legacy.cn",
        "legacy.com",
    }
    ui.assert_clean()


def test_forgotten_filing_password_then_cancel(ui, settings, tmp_path, monkeypatch):
    """Journey 4: recover the filing password by mail, set a new one, cancel with it."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    monkeypatch.setenv("BEIAN_SMS_FILE", str(tmp_path / "sms.log"))
    page = ui.page
    owner = f.user()
    subject = f.filed_subject(owner, domains_per_site=(["forgot-one.cn"], ["forgot-two.cn"]))
    site = subject.websites.get(sequence=2)

    ui.sign_in(owner)
    ui.goto(f"/websites/{site.pk}/cancel/")
    with page.expect_navigation():
        page.click("main a[href='/filing-password/recover/']")
    page.fill("#id_number", site.number)  # a website number is reduced to its subject's
    page.select_option("#id_certificate_type", "uscc")
    page.fill("#id_certificate_number", subject.certificate_number)
    ui.submit("main form[method=post]")
    expect(page.locator("main .alert.success")).to_contain_text("重置链接已发送")

    outbox_deliver_due()
    letters = [m for m in mail.outbox if subject.responsible_email in m.to]
    assert len(letters) == 1
    link = urlparse(re.search(r"https?://\S+/filing-password/reset\?token=\S+", letters[0].body).group(0))
    ui.goto(f"{link.path}?{link.query}")
    page.fill("#id_new_password", "Brand-New-Pw-7")
    page.fill("#id_confirm", "Brand-New-Pw-7")
    ui.submit("main form[method=post]")
    assert ui.path() == "/subjects/"
    expect(page.locator(".messages .alert.success")).to_contain_text(
        f"主体 {subject.number} 的备案密码已重置"
    )

    ui.goto(f"/websites/{site.pk}/cancel/")
    page.fill("#id_password", f.PASSWORD)
    ui.submit("main form:has(#id_password)")
    expect(page.locator("#id_password-error")).to_contain_text("备案密码不正确")
    page.fill("#id_password", "Brand-New-Pw-7")
    ui.submit("main form:has(#id_password)")
    order = Order.objects.get(subject=subject)
    assert ui.path() == f"/orders/{order.pk}/"
    expect(page.locator("h1")).to_contain_text("待管局审核")
    ui.assert_clean()


def test_the_browser_enforces_the_policy_and_the_journeys_would_see_a_violation(ui):
    """The pages' CSP really stops inline script in chromium, and ``Ui`` reports it (so the journeys'
    ``assert_clean`` would fail on a page that needed inline code)."""
    page = ui.page
    ui.goto("/blocked/?host=example.cn")
    expect(page.locator("h1")).to_have_text("该网站暂时无法访问")
    assert ui.problems == []
    page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.injected = 1';"
        " document.body.appendChild(s); }"
    )
    page.wait_for_timeout(200)
    assert page.evaluate("() => window.injected") is None
    assert any("CSP violation" in p for p in ui.problems), ui.problems
