"""/api/v1/reviews: queues and decisions by role and province; the whole cancellation journey over HTTP."""

from __future__ import annotations

import re

import pytest

from beian.notify.models import OutboxMessage
from tests import factories as f

pytestmark = pytest.mark.django_db


def submit(api, body: dict) -> dict:
    r = api.post("/orders", body)
    assert r.status_code == 201, r.content
    return r.json()


def assert_error(r, status: int, code: str) -> dict:
    assert r.status_code == status, r.content
    body = r.json()
    assert body["code"] == code, body
    assert body["message"]
    return body


def queue_ids(api, stage: str) -> list[int]:
    r = api.get("/reviews", {"stage": stage})
    assert r.status_code == 200, r.content
    return [o["id"] for o in r.json()]


@pytest.fixture
def change_a(api_a, subject_a) -> dict:
    """A change order of applicant A's Beijing subject, at the provider."""
    return submit(
        api_a, {"kind": "change_subject", "subject": subject_a.pk, "changes": {"address": "北京市朝阳区"}}
    )


@pytest.fixture
def cancel_b(api_b, subject_b) -> dict:
    """A cancellation of applicant B's Guangdong website, at the bureau of 44."""
    site = subject_b.websites.get(sequence=1)
    return submit(api_b, {"kind": "cancel_website", "website": site.pk, "password": f.PASSWORD})


# --- queues ---------------------------------------------------------------------------------------


def test_provider_queue(api_provider, change_a, cancel_b):
    assert queue_ids(api_provider, "provider") == [change_a["id"]]
    row = api_provider.get("/reviews", {"stage": "provider"}).json()[0]
    assert row["kind"] == "change_subject" and row["state"] == "provider_review"


def test_bureau_queue_is_the_bureaus_province(api_bureau_11, api_bureau_44, api_provider, change_a, cancel_b):
    assert queue_ids(api_bureau_44, "bureau") == [cancel_b["id"]]
    assert queue_ids(api_bureau_11, "bureau") == []
    assert api_provider.post(f"/reviews/{change_a['id']}/approve", {}).status_code == 200
    assert queue_ids(api_bureau_11, "bureau") == [change_a["id"]]
    assert queue_ids(api_bureau_44, "bureau") == [cancel_b["id"]]


def test_admin_sees_every_queue(api_admin, change_a, cancel_b):
    assert queue_ids(api_admin, "provider") == [change_a["id"]]
    assert queue_ids(api_admin, "bureau") == [cancel_b["id"]]


@pytest.mark.parametrize("stage", ["provider", "bureau"])
def test_applicant_gets_403_for_queues(api_a, change_a, stage):
    assert_error(api_a.get("/reviews", {"stage": stage}), 403, "not_reviewer")


def test_reviewers_of_the_other_stage_get_403(api_provider, api_bureau_11):
    assert_error(api_provider.get("/reviews", {"stage": "bureau"}), 403, "not_reviewer")
    assert_error(api_bureau_11.get("/reviews", {"stage": "provider"}), 403, "not_reviewer")


def test_bad_or_missing_stage_is_422(api_provider):
    assert_error(api_provider.get("/reviews", {"stage": "everyone"}), 422, "invalid_input")
    assert_error(api_provider.get("/reviews"), 422, "invalid_input")


# --- decisions ------------------------------------------------------------------------------------


def test_provider_then_bureau_approve(api_a, api_provider, api_bureau_11, change_a, subject_a):
    r = api_provider.post(f"/reviews/{change_a['id']}/approve", {"note": "资料齐全"})
    assert r.status_code == 200
    assert r.json()["state"] == "bureau_review"
    assert r.json()["events"][-1]["note"] == "资料齐全"
    assert r.json()["events"][-1]["actor_role"] == "provider_reviewer"
    r = api_bureau_11.post(f"/reviews/{change_a['id']}/approve", {})
    assert r.status_code == 200 and r.json()["state"] == "approved"
    assert r.json()["decided_at"] is not None
    s = api_a.get(f"/subjects/{subject_a.pk}").json()
    assert s["open_order"] is None
    assert s["actions"]["cancel_subject"]["allowed"] is True
    assert api_a.get(f"/orders/{change_a['id']}").json()["state"] == "approved"


def test_reject_needs_a_reason(api_provider, change_a):
    assert_error(api_provider.post(f"/reviews/{change_a['id']}/reject", {}), 422, "invalid_input")
    for reason in ("", "   "):
        got = api_provider.post(f"/reviews/{change_a['id']}/reject", {"reason": reason})
        assert got.status_code in (400, 422), got.content
        assert got.json()["code"] in ("reason_required", "invalid_input")
    r = api_provider.post(f"/reviews/{change_a['id']}/reject", {"reason": "地址与营业执照不一致"})
    assert r.status_code == 200
    assert r.json()["state"] == "rejected"
    assert r.json()["decision_note"] == "地址与营业执照不一致"


def test_bureau_reject_and_the_applicant_sees_why(api_a, api_bureau_44, api_b, cancel_b, subject_b):
    r = api_bureau_44.post(f"/reviews/{cancel_b['id']}/reject", {"reason": "请先注销关联业务"})
    assert r.status_code == 200 and r.json()["state"] == "rejected"
    mine = api_b.get(f"/orders/{cancel_b['id']}").json()
    assert mine["decision_note"] == "请先注销关联业务"
    assert mine["events"][-1]["action"] == "bureau_reject"
    assert api_b.get(f"/subjects/{subject_b.pk}").json()["websites"][0]["status"] == "active"


def test_bureau_of_another_province_gets_404(api_bureau_11, cancel_b):
    assert_error(api_bureau_11.post(f"/reviews/{cancel_b['id']}/approve", {}), 404, "not_found")
    assert_error(api_bureau_11.post(f"/reviews/{cancel_b['id']}/reject", {"reason": "x"}), 404, "not_found")
    assert_error(api_bureau_11.get(f"/orders/{cancel_b['id']}"), 404, "not_found")


def test_applicant_cannot_decide(api_a, api_b, change_a, cancel_b):
    assert_error(api_a.post(f"/reviews/{change_a['id']}/approve", {}), 403, "not_reviewer")
    assert_error(api_b.post(f"/reviews/{cancel_b['id']}/approve", {}), 403, "not_reviewer")
    assert_error(api_b.post(f"/reviews/{cancel_b['id']}/reject", {"reason": "x"}), 403, "not_reviewer")


def test_wrong_stage_decisions(api_a, api_b, api_provider, api_bureau_11, change_a, cancel_b):
    # a bureau cannot decide what is still at the provider; a provider cannot decide at the bureau
    assert_error(api_bureau_11.post(f"/reviews/{change_a['id']}/approve", {}), 403, "not_allowed")
    assert_error(api_provider.post(f"/reviews/{cancel_b['id']}/approve", {}), 403, "not_allowed")
    assert_error(api_provider.post(f"/reviews/{cancel_b['id']}/reject", {"reason": "x"}), 403, "not_allowed")
    assert api_a.get(f"/orders/{change_a['id']}").json()["state"] == "provider_review"
    assert api_b.get(f"/orders/{cancel_b['id']}").json()["state"] == "bureau_review"


def test_deciding_a_decided_order_is_409(api_provider, api_bureau_44, change_a, cancel_b):
    assert api_bureau_44.post(f"/reviews/{cancel_b['id']}/approve", {}).status_code == 200
    got = assert_error(
        api_bureau_44.post(f"/reviews/{cancel_b['id']}/approve", {}), 409, "illegal_transition"
    )
    assert got["state"] == "approved"
    assert_error(
        api_bureau_44.post(f"/reviews/{cancel_b['id']}/reject", {"reason": "x"}), 409, "illegal_transition"
    )
    en = api_bureau_44.english().post(f"/reviews/{cancel_b['id']}/approve", {}).json()
    assert en["code"] == "illegal_transition" and en["message"].startswith("The order is approved")


def test_absent_order_is_404(api_provider, api_admin):
    assert_error(api_provider.post("/reviews/987654/approve", {}), 404, "not_found")
    assert_error(api_admin.post("/reviews/987654/reject", {"reason": "x"}), 404, "not_found")


def test_cancel_access_is_decided_by_the_provider(api_a, api_provider, api_bureau_11, subject_a):
    site = subject_a.websites.get(sequence=2)
    order = submit(api_a, {"kind": "cancel_access", "website": site.pk})
    assert order["id"] in queue_ids(api_provider, "provider")
    r = api_provider.post(f"/reviews/{order['id']}/approve", {})
    assert r.status_code == 200 and r.json()["state"] == "approved"
    assert order["id"] not in queue_ids(api_bureau_11, "bureau")


# --- the seed's journey, through HTTP only ------------------------------------------------------------


def test_cancel_then_another_applicant_files_the_domain(
    api_a, api_b, api_provider, api_bureau_11, api_bureau_44, applicant_a, seen_bodies
):
    # applicant A's Beijing filing: two websites
    subject = f.filed_subject(applicant_a, domains_per_site=(["journey-shop.cn"], ["journey-blog.cn"]))
    subject_id = subject.pk
    s = api_a.get(f"/subjects/{subject_id}").json()
    site = s["websites"][0]
    assert site["domains"][0]["name"] == "journey-shop.cn"
    assert site["actions"]["cancel_website"]["allowed"] is True

    # A looks at what the cancellation will stop, then confirms with the filing password
    preview = api_a.get("/orders/preview", {"kind": "cancel_website", "website": site["id"]}).json()
    assert preview["stops_serving"] == ["journey-shop.cn"] and preview["subject_becomes_shell"] is False
    wrong = api_a.post("/orders", {"kind": "cancel_website", "website": site["id"], "password": "nope"})
    assert wrong.status_code == 403 and wrong.json()["attempts_remaining"] == 4
    cancel = submit(
        api_a, {"kind": "cancel_website", "website": site["id"], "password": f.PASSWORD, "reason": "不再运营"}
    )
    assert cancel["state"] == "bureau_review" and cancel["eta"]

    # the domain is not free while the cancellation is at the bureau
    blocked = api_b.post("/orders", f.new_filing_body(domain="journey-shop.cn"))
    assert blocked.status_code == 409
    assert blocked.json()["code"] == "domain_already_filed"
    assert blocked.json()["filing_number"] == site["number"]

    # only the bureau of Beijing sees it and decides it
    assert cancel["id"] not in queue_ids(api_bureau_44, "bureau")
    assert api_bureau_44.post(f"/reviews/{cancel['id']}/approve", {}).status_code == 404
    assert cancel["id"] in queue_ids(api_bureau_11, "bureau")
    approved = api_bureau_11.post(f"/reviews/{cancel['id']}/approve", {"note": "注销网站审核通过"})
    assert approved.status_code == 200 and approved.json()["state"] == "approved"

    # A sees the website cancelled and its domain released; the rest of the subject is untouched
    s = api_a.get(f"/subjects/{subject_id}").json()
    cancelled = next(w for w in s["websites"] if w["id"] == site["id"])
    assert cancelled["status"] == "cancelled" and cancelled["served_here"] is False
    assert [d["status"] for d in cancelled["domains"]] == ["released"]
    assert not cancelled["actions"]
    assert s["status"] == "active" and s["is_shell"] is False
    assert api_a.get(f"/orders/{cancel['id']}").json()["state"] == "approved"

    # applicant B files the same domain now
    filing = submit(api_b, f.new_filing_body(domain="www.journey-shop.cn"))
    assert filing["state"] == "provider_review" and filing["payload"]["domain"] == "journey-shop.cn"
    assert filing["id"] in queue_ids(api_provider, "provider")
    r = api_provider.post(f"/reviews/{filing['id']}/approve", {"note": "初审通过"})
    assert r.status_code == 200 and r.json()["state"] == "bureau_review"
    assert filing["id"] in queue_ids(api_bureau_11, "bureau")
    done = api_bureau_11.post(f"/reviews/{filing['id']}/approve", {})
    assert done.status_code == 200
    order = done.json()
    assert order["state"] == "approved"
    number = order["subject"]["number"]
    assert re.fullmatch(r"京ICP备\d{10}号", number), number
    assert order["website"]["number"] == f"{number}-1"
    assert [e["action"] for e in order["events"]] == ["submit", "provider_approve", "bureau_approve"]

    # B's subject is filed, with a new number; A's old website number is not reused
    mine = api_b.get("/subjects").json()
    assert [(x["number"], x["status"]) for x in mine] == [(number, "active")]
    new_site = api_b.get(f"/subjects/{mine[0]['id']}").json()["websites"][0]
    assert new_site["number"] == f"{number}-1" and new_site["number"] != site["number"]
    assert [(d["name"], d["status"]) for d in new_site["domains"]] == [("journey-shop.cn", "active")]

    # the filing password issued to B's responsible person works for a cancellation, and never
    # appears in any response, nor does A's
    issued = OutboxMessage.objects.filter(template="filing_password_issued", channel="sms").latest("id")
    password = re.search(r"备案密码：(\w+)", issued.body).group(1)
    dry = api_b.post("/orders", {"kind": "cancel_website", "website": new_site["id"], "dry_run": True})
    assert dry.status_code == 200 and dry.json()["subject_becomes_shell"] is True
    cancel_b = submit(api_b, {"kind": "cancel_website", "website": new_site["id"], "password": password})
    assert cancel_b["state"] == "bureau_review"
    for body in seen_bodies:
        assert password.encode() not in body
        assert f.PASSWORD.encode() not in body


def test_cancel_subject_retires_everything(api_a, api_bureau_11, subject_a, seen_bodies):
    body = {
        "kind": "cancel_subject",
        "subject": subject_a.pk,
        "password": f.PASSWORD,
        "acknowledge_irreversible": True,
        "reason": "公司注销",
    }
    order = submit(api_a, body)
    assert order["state"] == "bureau_review"
    r = api_bureau_11.post(f"/reviews/{order['id']}/approve", {"note": "注销主体审核通过"})
    assert r.status_code == 200 and r.json()["state"] == "approved"
    s = api_a.get(f"/subjects/{subject_a.pk}").json()
    assert s["status"] == "cancelled" and s["number"] == subject_a.number
    assert {w["status"] for w in s["websites"]} == {"cancelled"}
    assert {d["status"] for w in s["websites"] for d in w["domains"]} == {"released"}
    for name, action in s["actions"].items():
        assert action["allowed"] is False and action["reason"] == "subject_not_active", name
    again = api_a.post("/orders", body)
    assert again.status_code == 409 and again.json()["code"] == "subject_not_active"
    assert not any(f.PASSWORD.encode() in b for b in seen_bodies)
