"""Brute force and abuse: every guessable secret and every costly endpoint has a limit, and each limit is
tested at its boundary (N-1 allowed, the Nth refused with a clear Chinese message, open again after the
window, moved with ``beian.core.clock``) through the HTTP surface a user or a script meets.

Already pinned elsewhere, not repeated here:
- tests/orders/test_password.py: 4 wrong filing passwords count down, the 5th locks for 30 minutes (29 min
  still locked, 31 min open), the right password does not open a lock, failures are per subject whatever the
  address, the 21st guess from one address is 429 and a token comes back after Retry-After (service level).
- tests/api/test_orders_api.py: the same over the API (403 → 423 with locked_until; 21st guess 429 +
  Retry-After); the SMS resend cooldown answers 429 + Retry-After.
- tests/orders/test_sms.py: 5 wrong codes count down to 0 and the 6th attempt returns the order (service).
- tests/orders/test_recovery.py: the 6th recovery request for one subject number is throttled (service).
- tests/lookup/test_public_query.py: the public query API's 4th request with a burst of 3 is 429.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import types

import pytest
from django.test import Client
from django.utils import timezone

from beian.accounts.services import token_create
from beian.core import clock
from beian.core.errors import Locked, NotAllowed
from beian.lookup import throttle as public_throttle
from beian.notify.models import OutboxMessage
from beian.orders import services
from beian.orders.models import Order
from beian.orders.verification import filing_password_check
from beian.registry.models import Subject
from tests import factories as f
from tests.web.conftest import Page

pytestmark = pytest.mark.django_db

API = "/api/v1"


def api_client(user, ip: str = "127.0.0.1") -> Client:
    return Client(REMOTE_ADDR=ip, headers={"Authorization": f"Bearer {token_create(user=user, name='t')}"})


def api_post(client: Client, path: str, body: dict | None = None):
    return client.post(API + path, json.dumps(body or {}), content_type="application/json")


def signed_in(user, ip: str) -> Client:
    client = Client(REMOTE_ADDR=ip)
    client.force_login(user)
    return client


def retry_after(response) -> int:
    value = int(response["Retry-After"])
    assert value >= 1
    return value


def messages_text(page: Page) -> str:
    box = page.doc.find("div", class_="messages")
    return box.text() if box is not None else ""


# --- sign-in ---------------------------------------------------------------------------------------
# LoginView takes a token from two buckets before it checks the password: 20 per address and 10 per
# username, each refilled over 5 minutes. Every attempt counts (a correct one too).


def sign_in(ip: str, username: str, password: str, **extra) -> tuple[Client, object]:
    client = Client(REMOTE_ADDR=ip)
    return client, client.post("/accounts/login/", {"username": username, "password": password}, **extra)


def signed_in_as(client: Client):
    return client.session.get("_auth_user_id")


def test_sign_in_is_limited_per_account_whatever_the_address_and_however_the_name_is_written():
    victim = f.user("victim-user")
    for i in range(10):  # ten guesses, each from another address: only the account's bucket counts them
        _, r = sign_in(f"198.51.100.{i + 1}", "victim-user", f"guess-{i}")
        assert r.status_code == 200, i  # the form says the password is wrong, not "too many"
        assert "密码" in Page(r).doc.find("div", class_="alert").text() and "过于频繁" not in Page(r).text

    client, r = sign_in("198.51.100.50", "victim-user", "pw-victim-user")  # the 11th, with the right password
    assert r.status_code == 429
    wait = retry_after(r)
    assert wait <= 30  # one attempt comes back every 30 s (10 per 5 minutes)
    assert f"登录尝试过于频繁，请 {wait} 秒后再试" in messages_text(Page(r))
    assert signed_in_as(client) is None

    # The form strips the name and folds it to NFKC: these all sign in as victim-user, so they must
    # draw from the same bucket (otherwise each spelling is ten fresh guesses).
    for spelling in (" victim-user", "victim-user\t", "VICTIM-USER", "ｖｉｃｔｉｍ－ｕｓｅｒ"):
        client, r = sign_in("198.51.100.51", spelling, "pw-victim-user")
        assert r.status_code == 429, spelling
        assert signed_in_as(client) is None, spelling

    clock.advance(dt.timedelta(seconds=wait // 2))
    _, r = sign_in("198.51.100.52", "victim-user", "pw-victim-user")
    assert r.status_code == 429  # refused attempts do not refill the bucket early

    clock.advance(dt.timedelta(seconds=wait))
    client, r = sign_in("198.51.100.53", "victim-user", "pw-victim-user")
    assert r.status_code == 302 and signed_in_as(client) == str(victim.pk)


def test_sign_in_is_limited_per_address_across_accounts_and_x_forwarded_for_is_not_believed():
    f.user("real-user")
    ip = "203.0.113.5"
    for i in range(20):  # password spraying: one guess at each of twenty accounts
        _, r = sign_in(ip, f"nobody-{i}", "Spring2024!")
        assert r.status_code == 200, i
    client, r = sign_in(ip, "real-user", "pw-real-user")
    assert r.status_code == 429 and signed_in_as(client) is None
    wait = retry_after(r)
    assert f"登录尝试过于频繁，请 {wait} 秒后再试" in messages_text(Page(r))
    # The address is REMOTE_ADDR unless it is a trusted proxy: a forged X-Forwarded-For changes nothing.
    _, r = sign_in(ip, "real-user", "pw-real-user", HTTP_X_FORWARDED_FOR="192.0.2.99")
    assert r.status_code == 429

    clock.advance(dt.timedelta(seconds=wait))
    client, r = sign_in(ip, "real-user", "pw-real-user")
    assert r.status_code == 302 and signed_in_as(client)


def test_sign_in_with_a_nul_in_the_name_is_a_form_error_not_a_server_error():
    f.user("nul-user")
    for name in ("nul-user\x00", "\x00"):
        client, r = sign_in("198.51.100.77", name, "pw-nul-user")
        assert r.status_code == 200 and signed_in_as(client) is None


# --- filing password (备案密码) -----------------------------------------------------------------------


def cancel_body(site, password: str) -> dict:
    return {"kind": "cancel_website", "website": site.pk, "password": password, "reason": "停止运营"}


def test_filing_password_lock_lasts_exactly_thirty_minutes_over_the_api():
    owner = f.user()
    subject = f.filed_subject(owner, domains_per_site=(["lock-a.cn"], ["lock-b.cn"]))
    site = subject.websites.get(sequence=2)
    api = api_client(owner)
    for left in (4, 3, 2, 1):  # N-1 wrong guesses: refused, not locked
        r = api_post(api, "/orders", cancel_body(site, "wrong-guess"))
        assert r.status_code == 403 and r.json()["attempts_remaining"] == left
    before = clock.now()
    r = api_post(api, "/orders", cancel_body(site, "wrong-guess"))  # the Nth: locked
    after = clock.now()
    assert r.status_code == 423
    body = r.json()
    until = dt.datetime.fromisoformat(body["locked_until"])
    assert before + dt.timedelta(minutes=30) <= until <= after + dt.timedelta(minutes=30)
    local = timezone.localtime(until)
    assert f"已锁定至 {local:%H:%M}（{local:%Y-%m-%d}）" in body["message"]

    clock.advance(until - clock.now() - dt.timedelta(seconds=1))  # one second before the end
    r = api_post(api, "/orders", cancel_body(site, f.PASSWORD))
    assert r.status_code == 423 and not Order.objects.exists()
    clock.advance(dt.timedelta(seconds=2))  # one second after
    r = api_post(api, "/orders", cancel_body(site, f.PASSWORD))
    assert r.status_code == 201 and r.json()["state"] == "bureau_review"


def test_filing_password_page_throttles_an_address_with_429_and_retry_after():
    """20 guesses per address per 10 minutes on the cancel page too (spread over subjects, each locking at
    its 5th); the 21st is 429 with Retry-After even with the right password, and counts as no guess."""
    owner = f.user()
    subjects = [f.filed_subject(owner, domains_per_site=([f"thr{i}.cn"],)) for i in range(5)]
    ip = "192.0.2.20"
    for subject in subjects[:4]:  # 20 guesses from the address (the page's own path is pinned in tests/web)
        for _ in range(5):
            with pytest.raises((NotAllowed, Locked)):
                filing_password_check(subject_id=subject.pk, password="wrong-guess", ip=ip)
    client = signed_in(owner, ip)
    fresh = subjects[4]
    url = f"/websites/{fresh.websites.get().pk}/cancel/"
    r = client.post(url, {"password": f.PASSWORD})
    assert r.status_code == 429
    wait = retry_after(r)
    assert wait <= 30  # 20 per 600 s: one guess back every 30 s
    assert f"备案密码尝试过于频繁，请 {wait} 秒后再试" in Page(r).text
    r = client.post(url, {"password": f.PASSWORD}, HTTP_X_FORWARDED_FOR="192.0.2.200")
    assert r.status_code == 429  # a forged X-Forwarded-For is not another address
    assert not Order.objects.filter(subject=fresh).exists()
    assert Subject.objects.get(pk=fresh.pk).password_failures == 0

    clock.advance(dt.timedelta(seconds=wait))
    r = client.post(url, {"password": f.PASSWORD})
    assert r.status_code == 302 and Order.objects.filter(subject=fresh).exists()


# --- 找回备案密码 ------------------------------------------------------------------------------------
# 10 requests per address and 5 per subject number, each per hour. The throttle does not depend on the
# number existing, so the answer says nothing about which subjects exist.


def recover(client: Client, number: str, cert: str = "91110108MA01ABCD1X"):
    return client.post(
        "/filing-password/recover/",
        {"number": number, "certificate_type": "uscc", "certificate_number": cert},
    )


def test_recovery_requests_are_limited_per_address_on_the_page():
    client = Client(REMOTE_ADDR="198.51.100.30")
    numbers = [f"京ICP备2099{i:06d}号" for i in range(12)]
    for number in numbers[:10]:
        r = recover(client, number)
        assert r.status_code == 200 and not Page(r).field_error("number")
    r = recover(client, numbers[10])
    assert r.status_code == 429
    wait = retry_after(r)
    assert 300 <= wait <= 360  # 10 per hour: one back every 6 minutes
    assert f"找回密码请求过于频繁，请 {wait} 秒后再试" in Page(r).text
    assert recover(Client(REMOTE_ADDR="198.51.100.31"), numbers[10]).status_code == 200

    clock.advance(dt.timedelta(seconds=wait))
    assert recover(client, numbers[11]).status_code == 200
    assert recover(client, numbers[11]).status_code == 429  # one came back, not ten


def test_recovery_requests_are_limited_per_subject_the_same_whether_it_exists_or_not():
    subject = f.filed_subject(f.user())
    unknown = "京ICP备2099888888号"

    def api_recover(ip: str, number: str, cert: str):
        body = {"number": number, "certificate_type": "uscc", "certificate_number": cert}
        return api_post(Client(REMOTE_ADDR=ip), "/filing-password/recovery", body)

    for number, cert in ((subject.number, subject.certificate_number), (unknown, "91110108MA01ABCD1X")):
        answers = [api_recover(f"10.9.0.{i}", number, cert) for i in range(6)]
        assert [a.status_code for a in answers] == [202] * 5 + [429], number
        assert answers[-1].json()["code"] == "throttled"
        wait = retry_after(answers[-1])
        assert answers[-1].json()["retry_after"] == wait
    links = OutboxMessage.objects.filter(template="filing_password_reset_link")
    assert links.count() == 5  # the 6th request for the real subject mailed nothing

    clock.advance(dt.timedelta(seconds=wait))
    assert api_recover("10.9.1.1", subject.number, subject.certificate_number).status_code == 202
    assert links.count() == 6


# --- SMS codes (BEIAN_CANCELLATION_VERIFICATION=sms) -------------------------------------------------

CODE = re.compile(r"验证码 (\d{6})")


@pytest.fixture
def sms_mode(settings):
    settings.BEIAN_CANCELLATION_VERIFICATION = "sms"


def latest_code(order) -> str:
    message = OutboxMessage.objects.filter(order=order, template="sms_verification_code").latest("id")
    return CODE.search(message.body).group(1)


def other_code(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_sixth_code_attempt_on_the_page_returns_the_order(sms_mode):
    owner = f.user()
    subject = f.filed_subject(owner, domains_per_site=(["sms-page.cn"], ["sms-page2.cn"]))
    order = services.cancel_website_submit(actor=owner, website=subject.websites.get(sequence=2))
    code = latest_code(order)
    client = signed_in(owner, "198.51.100.40")
    url = f"/orders/{order.pk}/verify/"
    for left in (4, 3, 2, 1):
        r = client.post(url, {"code": other_code(code)})
        assert r.status_code == 200
        assert f"短信验证码不正确，还可以再试 {left} 次" in Page(r).field_error("code")
    r = client.post(url, {"code": other_code(code)})  # the 5th wrong: warned that the next one returns
    assert "再次提交将退回订单" in Page(r).field_error("code")
    assert Order.objects.get(pk=order.pk).state == "awaiting_verification"

    r = client.post(url, {"code": code}, follow=True)  # the 6th, even right, returns the order
    assert r.redirect_chain[-1][0] == f"/orders/{order.pk}/"
    assert "短信验证码已连续输错 5 次，订单已退回" in messages_text(Page(r))
    assert Order.objects.get(pk=order.pk).state == "rejected"


def test_resend_cooldown_is_exactly_sixty_seconds(sms_mode):
    owner = f.user()
    subject = f.filed_subject(owner, domains_per_site=(["resend-a.cn"],))
    api = api_client(owner)
    r = api_post(api, "/orders", {"kind": "cancel_subject", "subject": subject.pk})
    assert r.status_code == 201, r.content
    oid = r.json()["id"]
    sent_at = Order.objects.get(pk=oid).sms_sent_at
    messages = OutboxMessage.objects.filter(order_id=oid, template="sms_verification_code")

    clock.advance(sent_at + dt.timedelta(seconds=59) - clock.now())
    r = api_post(api, f"/orders/{oid}/resend")
    assert r.status_code == 429 and r.json()["code"] == "resend_cooldown"
    assert retry_after(r) == 1 and "请 1 秒后再重新发送" in r.json()["message"]
    assert messages.count() == 1

    clock.advance(dt.timedelta(seconds=1))
    r = api_post(api, f"/orders/{oid}/resend")
    assert r.status_code == 200 and messages.count() == 2
    r = api_post(api, f"/orders/{oid}/resend")  # and the cooldown starts again
    assert r.status_code == 429 and retry_after(r) == 60


def test_code_guesses_are_throttled_per_address_with_retry_after(sms_mode):
    """20 code attempts per address per 10 minutes, across orders: 4 orders × 5 wrong codes, then the 21st
    (even the right code of a 5th order) is 429 and does not count against that order."""
    owner = f.user()
    orders = []
    for i in range(5):
        subject = f.filed_subject(owner, domains_per_site=([f"sms-thr{i}.cn"],))
        orders.append(services.cancel_subject_submit(actor=owner, subject=subject))
    api = api_client(owner, ip="192.0.2.60")
    for order in orders[:4]:
        for _ in range(5):
            r = api_post(api, f"/orders/{order.pk}/verify", {"code": other_code(latest_code(order))})
            assert r.status_code == 403 and r.json()["code"] == "wrong_code"
    last = orders[4]
    r = api_post(api, f"/orders/{last.pk}/verify", {"code": latest_code(last)})
    assert r.status_code == 429 and r.json()["code"] == "throttled"
    wait = retry_after(r)
    assert wait <= 30 and f"验证码尝试过于频繁，请 {wait} 秒后再试" in r.json()["message"]
    last.refresh_from_db()
    assert last.state == "awaiting_verification" and last.sms_failures == 0

    clock.advance(dt.timedelta(seconds=wait))
    r = api_post(api, f"/orders/{last.pk}/verify", {"code": latest_code(last)})
    assert r.status_code == 200 and r.json()["state"] == "bureau_review"


# --- public query (公共查询) ---------------------------------------------------------------------------
# An in-process token bucket per address (BEIAN_PUBLIC_RATE per second, BEIAN_PUBLIC_BURST). It reads
# time.monotonic(), not beian.core.clock, so these tests move its clock instead.


class FakeMonotonic:
    def __init__(self):
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def public_clock(monkeypatch, settings):
    settings.BEIAN_PUBLIC_RATE = 0.5  # one query back every 2 s
    settings.BEIAN_PUBLIC_BURST = 5
    fake = FakeMonotonic()
    monkeypatch.setattr(public_throttle, "time", types.SimpleNamespace(monotonic=fake.monotonic))
    public_throttle.reset()
    yield fake
    public_throttle.reset()


def test_public_query_page_answers_429_with_retry_after_at_the_burst_and_reopens(public_clock):
    client = Client(REMOTE_ADDR="198.51.100.90")
    for i in range(5):
        assert client.get("/query/", {"q": "腾讯"}).status_code == 200, i
    r = client.get("/query/", {"q": "腾讯"})
    assert r.status_code == 429
    wait = retry_after(r)
    assert wait == 2
    assert re.search(rf"{wait}\s*秒", Page(r).text)  # the page says how long to wait
    # Another address is not affected; a forged X-Forwarded-For is not another address.
    assert Client(REMOTE_ADDR="198.51.100.91").get("/query/", {"q": "腾讯"}).status_code == 200
    r = client.get("/query/", {"q": "腾讯"}, HTTP_X_FORWARDED_FOR="192.0.2.1")
    assert r.status_code == 429

    public_clock.now += wait - 1
    assert client.get("/query/", {"q": "腾讯"}).status_code == 429
    public_clock.now += 1
    assert client.get("/query/", {"q": "腾讯"}).status_code == 200
    assert client.get("/query/", {"q": "腾讯"}).status_code == 429


def test_public_batch_costs_one_token_per_key(public_clock):
    client = Client(REMOTE_ADDR="198.51.100.92")

    def batch(n: int):
        keys = [f"batch{i}.cn" for i in range(n)]
        return client.post(
            API + "/public/filings:batch", json.dumps({"keys": keys}), content_type="application/json"
        )

    assert batch(4).status_code == 200  # 5 - 4 = 1 token left
    r = batch(2)
    assert r.status_code == 429 and r.json()["code"] == "throttled"
    assert retry_after(r) == 2 and "查询过于频繁" in r.json()["message"]
    assert client.get(API + "/public/filings", {"q": "腾讯"}).status_code == 200  # the last token
    assert client.get(API + "/public/filings", {"q": "腾讯"}).status_code == 429
    public_clock.now += 4
    assert batch(2).status_code == 200
