"""/api/v1/orders: submit every kind, read, abandon, preview, SMS verification; the error statuses."""

from __future__ import annotations

import re

import pytest

from beian.notify.models import OutboxMessage
from beian.orders.models import Order
from tests import factories as f
from tests.api.conftest import ApiClient

pytestmark = pytest.mark.django_db

ORDER_KEYS = {
    "id",
    "kind",
    "state",
    "eta",
    "events",
    "stages",
    "subject",
    "website",
    "payload",
    "abandonable",
}


def site_of(subject, n: int):
    return subject.websites.get(sequence=n)


def cancel_website_body(site, password=f.PASSWORD, **extra) -> dict:
    return {
        "kind": "cancel_website",
        "website": site.pk,
        "password": password,
        "reason": "网站停止运营",
        **extra,
    }


def submit(api: ApiClient, body: dict, status: int = 201) -> dict:
    r = api.post("/orders", body)
    assert r.status_code == status, r.content
    return r.json()


def assert_error(r, status: int, code: str) -> dict:
    assert r.status_code == status, r.content
    assert r["Content-Type"].startswith("application/json")
    body = r.json()
    assert body["code"] == code, body
    assert isinstance(body["message"], str) and body["message"]
    return body


def sms_code(order_id: int) -> str:
    sms = OutboxMessage.objects.filter(order_id=order_id, template="sms_verification_code").latest("id")
    return re.search(r"验证码 (\d{6})", sms.body).group(1)


# --- submission of every kind -----------------------------------------------------------------------


def test_new_filing(api_a):
    order = submit(api_a, f.new_filing_body(domain="www.new-shop.cn"))
    assert set(order) >= ORDER_KEYS
    assert order["kind"] == "new_filing" and order["state"] == "provider_review"
    assert order["eta"] is not None
    assert order["subject"]["number"] is None
    assert order["payload"]["domain"] == "new-shop.cn"
    assert [e["action"] for e in order["events"]] == ["submit"]
    assert order["events"][0]["to_state"] == "provider_review"
    stages = {s["key"]: s["status"] for s in order["stages"]}
    assert stages["provider_review"] == "current" and stages["bureau_review"] == "upcoming"
    assert order["abandonable"] is True


@pytest.mark.parametrize(
    "change, code",
    [
        ({"province": None}, "required"),
        ({"province": "99"}, "unknown_province"),
        ({"nature": "no-such-nature"}, "unknown_nature"),
        ({"certificate_type": "resident_id"}, "certificate_type_not_allowed"),
        ({"certificate_number": "91110108MA01ABCD10"}, "bad_uscc_check"),
        ({"domain": "shop.io"}, "tld_not_approved"),
        ({"domain": "not a domain"}, "invalid_label"),
        ({"domain": None}, "required"),
        ({"subject_info": {"name": "甲公司"}}, "required"),
        ({"website_info": None}, "required"),
    ],
)
def test_new_filing_invalid_input_is_422(api_a, change, code):
    body = {**f.new_filing_body(domain="valid-one.cn"), **change}
    assert_error(api_a.post("/orders", body), 422, code)
    assert not Order.objects.exists()


def test_new_filing_schema_errors_are_422_invalid_input(api_a):
    for change in ({"province": "1" * 7}, {"dry_run": "perhaps"}, {"domain": ["a.cn", "b.cn"]}):
        body = {**f.new_filing_body(domain="valid-one.cn"), **change}
        got = assert_error(api_a.post("/orders", body), 422, "invalid_input")
        assert got["fields"], change


def test_new_filing_bad_mobile_names_the_field(api_a):
    body = f.new_filing_body(domain="valid-two.cn")
    body["subject_info"]["responsible_mobile"] = "12345"
    got = assert_error(api_a.post("/orders", body), 422, "bad_mobile")
    assert got["field"] == "responsible_mobile"


def test_new_filing_of_a_filed_domain_is_409_with_the_filing_number(api_a, api_b, subject_a):
    got = assert_error(
        api_b.post("/orders", f.new_filing_body(domain="alpha-docs.cn")), 409, "domain_already_filed"
    )
    assert got["filing_number"] == site_of(subject_a, 2).number
    assert got["domain"] == "alpha-docs.cn"
    sub = assert_error(
        api_b.post("/orders", f.new_filing_body(domain="blog.alpha-docs.cn")), 409, "domain_already_filed"
    )
    assert sub["filing_number"] == site_of(subject_a, 2).number


def test_domain_being_filed_is_409_for_the_next_applicant(api_a, api_b):
    submit(api_a, f.new_filing_body(domain="race.cn"))
    got = assert_error(
        api_b.post("/orders", f.new_filing_body(domain="race.cn")), 409, "domain_already_filed"
    )
    assert got["pending"] is True


def test_same_certificate_twice_is_409(api_a):
    body = f.new_filing_body(domain="cert-one.cn", n=4242)
    submit(api_a, body)
    again = {**body, "domain": "cert-two.cn"}
    assert_error(api_a.post("/orders", again), 409, "certificate_in_use")


def test_add_website(api_a, subject_a):
    info = {
        "name": "新网站",
        "responsible_name": "李四",
        "responsible_mobile": "13900000001",
        "responsible_email": "li@example.cn",
    }
    order = submit(
        api_a, {"kind": "add_website", "subject": subject_a.pk, "website_info": info, "domain": "third.cn"}
    )
    assert order["kind"] == "add_website" and order["state"] == "provider_review"
    assert order["subject"]["id"] == subject_a.pk
    assert order["website"]["number"] is None
    no_domain = {"kind": "add_website", "subject": subject_a.pk, "website_info": info}
    assert api_a.post("/orders", no_domain).status_code == 422


def test_change_subject(api_a, subject_a):
    order = submit(
        api_a, {"kind": "change_subject", "subject": subject_a.pk, "changes": {"address": "北京市朝阳区"}}
    )
    assert order["kind"] == "change_subject" and order["payload"]["fields"] == {"address": "北京市朝阳区"}


@pytest.mark.parametrize(
    "changes, code",
    [
        ({"province": "44"}, "immutable_field"),
        ({"certificate_number": "91110108MA01ABCD1X"}, "immutable_field"),
        ({"favourite_colour": "red"}, "unknown_field"),
        ({}, "no_change"),
    ],
)
def test_change_subject_refusals(api_a, subject_a, changes, code):
    r = api_a.post("/orders", {"kind": "change_subject", "subject": subject_a.pk, "changes": changes})
    assert_error(r, 422, code)


def test_change_website_removing_an_unapproved_tld_domain_needs_acknowledgement(api_a, subject_a):
    site = site_of(subject_a, 1)
    body = {"kind": "change_website", "website": site.pk, "changes": {}, "remove_domains": ["alpha-shop.io"]}
    got = assert_error(api_a.post("/orders", body), 422, "irreversible_confirmation_required")
    assert got["domains"] == ["alpha-shop.io"]
    order = submit(api_a, {**body, "acknowledge_irreversible": True})
    assert order["kind"] == "change_website" and order["website"]["id"] == site.pk
    assert order["payload"]["remove_domains"] == ["alpha-shop.io"]
    assert order["payload"]["acknowledge_irreversible"] is True


def test_change_website_refusals(api_a, subject_a):
    one = site_of(subject_a, 2)
    last = {"kind": "change_website", "website": one.pk, "remove_domains": ["alpha-docs.cn"]}
    got = assert_error(api_a.post("/orders", last), 409, "last_domain")
    assert got["way_out"] == "cancel_website"
    add = {"kind": "change_website", "website": one.pk, "changes": {"domains": ["more.cn"]}}
    assert_error(api_a.post("/orders", add), 422, "cannot_add_domain")
    other = {"kind": "change_website", "website": one.pk, "remove_domains": ["alpha-shop.cn"]}
    assert_error(api_a.post("/orders", other), 422, "domain_not_on_website")
    renamed = submit(api_a, {"kind": "change_website", "website": one.pk, "changes": {"name": "开发者文档"}})
    assert renamed["payload"]["fields"] == {"name": "开发者文档"}


def test_cancel_website_with_the_filing_password(api_a, subject_a):
    site = site_of(subject_a, 2)
    order = submit(api_a, cancel_website_body(site))
    assert order["kind"] == "cancel_website" and order["state"] == "bureau_review"
    assert order["verification"] == "password"
    assert order["website"]["number"] == site.number
    assert order["eta"] is not None
    assert order["abandonable"] is False
    stages = {s["key"]: s["status"] for s in order["stages"]}
    assert stages["provider_review"] == "skipped" and stages["bureau_review"] == "current"
    assert order["payload"]["stops_serving"] == ["alpha-docs.cn"]


def test_cancel_subject_needs_acknowledgement_of_unapproved_tld_domains(api_a, subject_a):
    body = {"kind": "cancel_subject", "subject": subject_a.pk, "password": f.PASSWORD, "reason": "公司注销"}
    got = assert_error(api_a.post("/orders", body), 422, "irreversible_confirmation_required")
    assert got["domains"] == ["alpha-shop.io"]
    order = submit(api_a, {**body, "acknowledge_irreversible": True})
    assert order["kind"] == "cancel_subject" and order["state"] == "bureau_review"
    assert sorted(order["payload"]["stops_serving"]) == ["alpha-docs.cn", "alpha-shop.cn", "alpha-shop.io"]


def test_cancel_without_password_is_422(api_a, subject_a):
    site = site_of(subject_a, 2)
    for password in (None, ""):
        assert_error(
            api_a.post("/orders", cancel_website_body(site, password=password)), 422, "password_required"
        )
    assert not Order.objects.exists()


def test_cancel_access(api_a, subject_a):
    order = submit(api_a, {"kind": "cancel_access", "website": site_of(subject_a, 1).pk, "reason": "迁出"})
    assert order["kind"] == "cancel_access" and order["state"] == "provider_review"
    assert order["verification"] == "none"
    assert sorted(order["payload"]["stops_serving"]) == ["alpha-shop.cn", "alpha-shop.io"]


def test_missing_subject_or_website_is_422(api_a):
    for kind in ("add_website", "change_subject", "cancel_subject"):
        assert_error(api_a.post("/orders", {"kind": kind}), 422, "required")
    for kind in ("change_website", "cancel_website", "cancel_access", "add_access"):
        got = assert_error(api_a.post("/orders", {"kind": kind}), 422, "required")
        assert got["field"] == "website"


def test_second_order_on_a_subject_is_409_order_in_progress(api_a, subject_a):
    first = submit(
        api_a, {"kind": "change_subject", "subject": subject_a.pk, "changes": {"address": "新地址"}}
    )
    body = cancel_website_body(site_of(subject_a, 2), password="a-wrong-password")
    got = assert_error(api_a.post("/orders", body), 409, "order_in_progress")
    assert got["blocking_order"] == first["id"]
    assert got["abandonable"] is True
    assert "放弃该订单" in got["message"]
    en = api_a.english().post("/orders", body).json()
    assert en["code"] == "order_in_progress" and "abandon" in en["message"]
    assert api_a.english().get(f"/orders/{first['id']}").json()["kind_label"] == "change subject"
    # refused before the password was tried: no attempt was spent
    subject_a.refresh_from_db()
    assert subject_a.password_failures == 0


# --- other applicants' objects and other roles --------------------------------------------------------


def test_other_applicants_objects_are_404(api_a, api_b, subject_a):
    order = submit(
        api_a, {"kind": "change_subject", "subject": subject_a.pk, "changes": {"address": "新地址"}}
    )
    site = site_of(subject_a, 2)
    attempts = [
        api_b.get(f"/orders/{order['id']}"),
        api_b.post(f"/orders/{order['id']}/abandon"),
        api_b.post(f"/orders/{order['id']}/verify", {"code": "123456"}),
        api_b.post(f"/orders/{order['id']}/resend"),
        api_b.get("/orders/preview", {"kind": "cancel_subject", "subject": subject_a.pk}),
        api_b.get("/orders/preview", {"kind": "cancel_website", "website": site.pk}),
        api_b.post("/orders", {"kind": "change_subject", "subject": subject_a.pk, "changes": {"name": "乙"}}),
        api_b.post("/orders", cancel_website_body(site)),
        api_b.post("/orders", {"kind": "cancel_access", "website": site.pk}),
        api_b.post("/orders", {"kind": "cancel_subject", "subject": subject_a.pk, "dry_run": True}),
    ]
    for r in attempts:
        assert_error(r, 404, "not_found")
    assert api_b.get("/orders").json() == []
    assert Order.objects.get(pk=order["id"]).state == "provider_review"


def test_reviewer_cannot_submit_for_an_applicant(api_provider, subject_a):
    r = api_provider.post(
        "/orders", {"kind": "change_subject", "subject": subject_a.pk, "changes": {"address": "x"}}
    )
    assert_error(r, 403, "not_owner")


# --- reading and abandoning ---------------------------------------------------------------------------


def test_list_and_read_my_orders(api_a, api_b, subject_a, subject_b):
    mine = submit(
        api_a, {"kind": "change_subject", "subject": subject_a.pk, "changes": {"address": "新地址"}}
    )
    theirs = submit(
        api_b, {"kind": "change_subject", "subject": subject_b.pk, "changes": {"address": "深圳"}}
    )
    listed = api_a.get("/orders")
    assert listed.status_code == 200
    assert [o["id"] for o in listed.json()] == [mine["id"]]
    assert {"id", "kind", "state", "subject", "eta"} <= set(listed.json()[0])
    assert [o["id"] for o in api_a.get("/orders", {"state": "approved"}).json()] == []
    assert [o["id"] for o in api_a.get("/orders", {"open": "true"}).json()] == [mine["id"]]
    assert api_a.get("/orders", {"state": "nonsense"}).status_code == 422
    detail = api_a.get(f"/orders/{mine['id']}")
    assert detail.status_code == 200
    assert detail.json()["events"][0]["action"] == "submit"
    assert_error(api_a.get(f"/orders/{theirs['id']}"), 404, "not_found")
    for absent in (999999, 2**63, -5):
        assert_error(api_a.get(f"/orders/{absent}"), 404, "not_found")
        assert_error(api_a.post(f"/orders/{absent}/abandon"), 404, "not_found")


def test_abandon_before_the_bureau(api_a, subject_a):
    order = submit(
        api_a, {"kind": "change_subject", "subject": subject_a.pk, "changes": {"address": "新地址"}}
    )
    r = api_a.post(f"/orders/{order['id']}/abandon")
    assert r.status_code == 200
    assert r.json()["state"] == "abandoned"
    assert [e["action"] for e in r.json()["events"]] == ["submit", "abandon"]
    again = assert_error(api_a.post(f"/orders/{order['id']}/abandon"), 409, "illegal_transition")
    assert again["state"] == "abandoned"
    # the subject is free again: a cancellation can now be submitted
    assert api_a.get(f"/subjects/{subject_a.pk}").json()["actions"]["cancel_subject"]["allowed"] is True


def test_abandoned_new_filing_frees_the_domain(api_a, api_b):
    order = submit(api_a, f.new_filing_body(domain="freed.cn"))
    assert api_a.post(f"/orders/{order['id']}/abandon").status_code == 200
    submit(api_b, f.new_filing_body(domain="freed.cn"))


def test_abandon_at_the_bureau_is_409_illegal_transition(api_a, subject_a):
    order = submit(api_a, cancel_website_body(site_of(subject_a, 2)))
    got = assert_error(api_a.post(f"/orders/{order['id']}/abandon"), 409, "illegal_transition")
    assert got["state"] == "bureau_review"
    en = api_a.english().post(f"/orders/{order['id']}/abandon").json()
    assert en["code"] == "illegal_transition" and "cannot be abandoned" in en["message"]


def test_provider_cannot_abandon_for_the_applicant(api_a, api_provider, subject_a):
    order = submit(
        api_a, {"kind": "change_subject", "subject": subject_a.pk, "changes": {"address": "新地址"}}
    )
    assert_error(api_provider.post(f"/orders/{order['id']}/abandon"), 403, "not_allowed")


# --- preview and dry_run ------------------------------------------------------------------------------


def test_preview_cancel_subject(api_a, subject_a):
    r = api_a.get("/orders/preview", {"kind": "cancel_subject", "subject": subject_a.pk})
    assert r.status_code == 200
    p = r.json()
    assert p["kind"] == "cancel_subject" and p["subject"] == subject_a.pk
    assert p["subject_number"] == subject_a.number
    assert [w["number"] for w in p["websites"]] == [
        site_of(subject_a, 1).number,
        site_of(subject_a, 2).number,
    ]
    assert [d["name"] for d in p["websites"][0]["domains"]] == ["alpha-shop.cn", "alpha-shop.io"]
    assert p["unapproved_tld_domains"] == ["alpha-shop.io"]
    assert sorted(p["stops_serving"]) == ["alpha-docs.cn", "alpha-shop.cn", "alpha-shop.io"]
    assert p["subject_becomes_shell"] is False
    assert p["verification"] == "password"
    assert p["eta"] is not None and p["eta_latest"] >= p["eta"]


def test_preview_cancel_website(api_a, applicant_a, subject_a):
    p = api_a.get("/orders/preview", {"kind": "cancel_website", "website": site_of(subject_a, 2).pk}).json()
    assert [w["number"] for w in p["websites"]] == [site_of(subject_a, 2).number]
    assert p["stops_serving"] == ["alpha-docs.cn"] and p["unapproved_tld_domains"] == []
    assert p["subject_becomes_shell"] is False
    lone = f.filed_subject(applicant_a, domains_per_site=(["lonely.cn"],))
    p = api_a.get("/orders/preview", {"kind": "cancel_website", "website": site_of(lone, 1).pk}).json()
    assert p["subject_becomes_shell"] is True


def test_preview_refusals(api_a, subject_a):
    assert_error(
        api_a.get("/orders/preview", {"kind": "new_filing", "subject": subject_a.pk}),
        422,
        "preview_cancellations_only",
    )
    assert_error(api_a.get("/orders/preview", {"kind": "cancel_subject"}), 422, "required")
    assert_error(api_a.get("/orders/preview", {"kind": "cancel_website"}), 422, "required")
    assert_error(api_a.get("/orders/preview", {"kind": "bogus"}), 422, "invalid_input")
    assert_error(api_a.get("/orders/preview", {"kind": "cancel_subject", "subject": 99999}), 404, "not_found")


def test_dry_run_answers_the_preview_and_submits_nothing(api_a, subject_a):
    r = api_a.post("/orders", {"kind": "cancel_subject", "subject": subject_a.pk, "dry_run": True})
    assert r.status_code == 200
    assert r.json()["unapproved_tld_domains"] == ["alpha-shop.io"]
    assert r.json()["kind"] == "cancel_subject"
    site = site_of(subject_a, 2)
    r = api_a.post("/orders", {**cancel_website_body(site), "dry_run": True})
    assert r.status_code == 200 and r.json()["stops_serving"] == ["alpha-docs.cn"]
    assert not Order.objects.exists()
    subject_a.refresh_from_db()
    assert subject_a.password_failures == 0
    body = {"kind": "change_subject", "subject": subject_a.pk, "changes": {"address": "x"}, "dry_run": True}
    assert_error(api_a.post("/orders", body), 422, "dry_run_cancellations_only")


# --- the filing password: wrong, locked, throttled, never echoed ----------------------------------


def test_wrong_password_then_lock(api_a, subject_a, seen_bodies):
    site = site_of(subject_a, 2)
    for remaining in (4, 3, 2, 1):
        got = assert_error(
            api_a.post("/orders", cancel_website_body(site, password="wrong")), 403, "wrong_filing_password"
        )
        assert got["attempts_remaining"] == remaining
    locked = assert_error(
        api_a.post("/orders", cancel_website_body(site, password="wrong")), 423, "filing_password_locked"
    )
    assert locked["locked_until"]
    # locked: even the right password is refused now
    assert_error(api_a.post("/orders", cancel_website_body(site)), 423, "filing_password_locked")
    en = api_a.english().post("/orders", cancel_website_body(site)).json()
    assert en["code"] == "filing_password_locked" and "locked" in en["message"]
    assert not Order.objects.exists()
    assert not any(f.PASSWORD.encode() in body for body in seen_bodies)


def test_right_password_resets_the_failure_count(api_a, subject_a):
    site = site_of(subject_a, 2)
    for _ in range(3):
        api_a.post("/orders", cancel_website_body(site, password="wrong"))
    submit(api_a, cancel_website_body(site))
    subject_a.refresh_from_db()
    assert subject_a.password_failures == 0


def test_password_guesses_from_one_address_are_throttled_with_retry_after(api_a, applicant_a):
    subjects = [f.filed_subject(applicant_a, domains_per_site=([f"guess{i}.cn"],)) for i in range(5)]
    statuses = []
    for subject in subjects:
        for _ in range(5):
            r = api_a.post("/orders", cancel_website_body(site_of(subject, 1), password="wrong-guess"))
            statuses.append(r.status_code)
            if r.status_code == 429:
                break
        if statuses[-1] == 429:
            break
    assert len(statuses) == 21 and 429 not in statuses[:20]  # 20 guesses per address per 10 minutes
    got = assert_error(r, 429, "throttled")
    assert int(r["Retry-After"]) >= 1
    assert got["retry_after"] == int(r["Retry-After"])


def test_password_is_never_echoed(api_a, subject_a, seen_bodies):
    site = site_of(subject_a, 2)
    secret = "Sec-" + "x" * 20
    api_a.post("/orders", cancel_website_body(site, password=secret))
    api_a.post("/orders", cancel_website_body(site, password=12345))
    api_a.post("/orders", {**cancel_website_body(site, password=secret), "reason": 7})
    api_a.post("/orders", {**cancel_website_body(site, password=secret), "website": "x"})
    api_a.post("/orders", cancel_website_body(site, password="p" * 200))
    api_a.post("/orders", {**cancel_website_body(site, password=f.PASSWORD), "kind": "bogus"})
    order = submit(api_a, cancel_website_body(site))
    api_a.get(f"/orders/{order['id']}")
    api_a.get("/orders")
    api_a.get(f"/subjects/{subject_a.pk}")
    assert len(seen_bodies) >= 10
    for body in seen_bodies:
        assert secret.encode() not in body
        assert f.PASSWORD.encode() not in body
        assert b"p" * 100 not in body
    assert "filing_password_hash" not in str(seen_bodies) and "$argon2" not in str(seen_bodies)


# --- SMS verification (BEIAN_CANCELLATION_VERIFICATION=sms) ---------------------------------------


@pytest.fixture
def sms_mode(settings):
    settings.BEIAN_CANCELLATION_VERIFICATION = "sms"


def test_sms_cancellation(sms_mode, api_a, subject_a, seen_bodies):
    site = site_of(subject_a, 2)
    order = submit(api_a, {"kind": "cancel_website", "website": site.pk, "reason": "停止运营"})
    assert order["state"] == "awaiting_verification" and order["verification"] == "sms"
    assert order["abandonable"] is True
    oid = order["id"]
    code = sms_code(oid)
    sms = OutboxMessage.objects.filter(order_id=oid, template="sms_verification_code").get()
    assert sms.recipient == site.responsible_mobile  # 注销网站: the website's responsible person
    assert_error(api_a.post(f"/orders/{oid}/verify", {"code": "12ab"}), 422, "code_format")
    assert_error(api_a.post(f"/orders/{oid}/verify", {}), 422, "invalid_input")
    wrong = "000000" if code != "000000" else "111111"
    got = assert_error(api_a.post(f"/orders/{oid}/verify", {"code": wrong}), 403, "wrong_code")
    assert got["attempts_remaining"] == 4
    r = api_a.post(f"/orders/{oid}/verify", {"code": code})
    assert r.status_code == 200, r.content
    assert r.json()["state"] == "bureau_review"
    assert [e["action"] for e in r.json()["events"]] == ["submit", "verify"]
    assert_error(api_a.post(f"/orders/{oid}/verify", {"code": code}), 409, "not_awaiting_verification")
    assert not any(code.encode() in body for body in seen_bodies)  # the SMS code never comes back


def test_sms_resend_within_the_cooldown_is_429_with_retry_after(sms_mode, api_a, subject_a):
    order = submit(api_a, {"kind": "cancel_website", "website": site_of(subject_a, 2).pk})
    r = api_a.post(f"/orders/{order['id']}/resend")
    got = assert_error(r, 429, "resend_cooldown")
    assert int(r["Retry-After"]) == got["retry_after"] >= 1
    assert OutboxMessage.objects.filter(order_id=order["id"], template="sms_verification_code").count() == 1


def test_sms_resend_after_the_cooldown_replaces_the_code(sms_mode, api_a, subject_a):
    import datetime as dt

    order = submit(
        api_a, {"kind": "cancel_subject", "subject": subject_a.pk, "acknowledge_irreversible": True}
    )
    old = sms_code(order["id"])
    Order.objects.filter(pk=order["id"]).update(
        sms_sent_at=Order.objects.get(pk=order["id"]).sms_sent_at - dt.timedelta(minutes=2)
    )
    r = api_a.post(f"/orders/{order['id']}/resend")
    assert r.status_code == 200 and r.json()["state"] == "awaiting_verification"
    new = sms_code(order["id"])
    sms = OutboxMessage.objects.filter(order_id=order["id"], template="sms_verification_code").latest("id")
    assert sms.recipient == subject_a.responsible_mobile
    if new != old:
        assert_error(api_a.post(f"/orders/{order['id']}/verify", {"code": old}), 403, "wrong_code")
    assert api_a.post(f"/orders/{order['id']}/verify", {"code": new}).json()["state"] == "bureau_review"


def test_sms_sixth_attempt_returns_the_order(sms_mode, api_a, subject_a):
    order = submit(api_a, {"kind": "cancel_website", "website": site_of(subject_a, 2).pk})
    code = sms_code(order["id"])
    wrong = "000000" if code != "000000" else "111111"
    for remaining in (4, 3, 2, 1, 0):
        got = assert_error(api_a.post(f"/orders/{order['id']}/verify", {"code": wrong}), 403, "wrong_code")
        assert got["attempts_remaining"] == remaining
    assert_error(api_a.post(f"/orders/{order['id']}/verify", {"code": code}), 409, "verification_failed")
    assert api_a.get(f"/orders/{order['id']}").json()["state"] == "rejected"


def test_verify_in_password_mode_is_409(api_a, subject_a):
    order = submit(api_a, cancel_website_body(site_of(subject_a, 2)))
    assert_error(
        api_a.post(f"/orders/{order['id']}/verify", {"code": "123456"}), 409, "not_awaiting_verification"
    )


def test_resend_in_password_mode_is_409(api_a, subject_a):
    order = submit(api_a, cancel_website_body(site_of(subject_a, 2)))
    assert_error(api_a.post(f"/orders/{order['id']}/resend"), 409, "not_awaiting_verification")


def test_sms_abandon_while_awaiting_verification(sms_mode, api_a, subject_a):
    order = submit(api_a, {"kind": "cancel_website", "website": site_of(subject_a, 2).pk})
    r = api_a.post(f"/orders/{order['id']}/abandon")
    assert r.status_code == 200 and r.json()["state"] == "abandoned"
