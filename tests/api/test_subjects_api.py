"""/api/v1/subjects, authentication, the error format, /inspect and the API documentation."""

from __future__ import annotations

import json

import idna
import pytest
from django.test import Client

from beian.accounts.models import ApiToken
from tests import factories as f
from tests.api.conftest import API, ApiClient

pytestmark = pytest.mark.django_db

ACTION_KEYS = {"allowed", "reason", "message", "blocking_order"}
SUBJECT_ACTIONS = {"cancel_subject", "add_website", "change_subject"}
WEBSITE_ACTIONS = {"cancel_website", "change_website", "cancel_access", "add_access"}


def change_subject(api: ApiClient, subject_id: int, name: str = "新名称有限公司") -> dict:
    r = api.post("/orders", {"kind": "change_subject", "subject": subject_id, "changes": {"name": name}})
    assert r.status_code == 201, r.content
    return r.json()


# --- authentication ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/subjects"),
        ("get", "/subjects/1"),
        ("get", "/orders"),
        ("get", "/orders/1"),
        ("get", "/orders/preview?kind=cancel_subject&subject=1"),
        ("post", "/orders"),
        ("post", "/orders/1/abandon"),
        ("post", "/orders/1/verify"),
        ("post", "/orders/1/resend"),
        ("get", "/reviews?stage=provider"),
        ("post", "/reviews/1/approve"),
        ("post", "/reviews/1/reject"),
    ],
)
def test_no_credentials_is_401_not_authenticated(anonymous, method, path):
    r = getattr(anonymous, method)(path)
    assert r.status_code == 401
    assert r["Content-Type"].startswith("application/json")
    body = r.json()
    assert body["code"] == "not_authenticated"
    assert body["message"]


def test_unknown_or_revoked_token_is_401(applicant_a, subject_a):
    assert ApiClient(token="bn_not-a-real-token").get("/subjects").status_code == 401
    api = ApiClient(applicant_a)
    assert api.get("/subjects").status_code == 200
    ApiToken.objects.filter(user=applicant_a).update(revoked_at="2020-01-01T00:00:00Z")
    r = api.get("/subjects")
    assert r.status_code == 401 and r.json()["code"] == "not_authenticated"


def test_inactive_user_token_is_401(applicant_a):
    api = ApiClient(applicant_a)
    applicant_a.is_active = False
    applicant_a.save()
    assert api.get("/subjects").status_code == 401


def test_401_message_in_english(db):
    r = Client(headers={"Accept-Language": "en"}).get(API + "/subjects")
    assert r.status_code == 401
    assert r.json()["message"].startswith("Sign in")


def test_session_authentication(applicant_a, subject_a):
    client = Client()
    client.force_login(applicant_a)
    r = client.get(f"{API}/subjects")
    assert r.status_code == 200
    assert [s["id"] for s in r.json()] == [subject_a.pk]


def test_session_post_needs_csrf_but_bearer_does_not(applicant_a, subject_a):
    body = json.dumps({"kind": "change_subject", "subject": subject_a.pk, "changes": {"name": "甲有限公司"}})
    session = Client(enforce_csrf_checks=True)
    session.force_login(applicant_a)
    r = session.post(f"{API}/orders", body, content_type="application/json")
    assert r.status_code == 403
    assert r.json()["code"]
    token = ApiClient(applicant_a).token
    bearer = Client(enforce_csrf_checks=True, headers={"Authorization": f"Bearer {token}"})
    r = bearer.post(f"{API}/orders", body, content_type="application/json")
    assert r.status_code == 201, r.content


# --- GET /subjects ---------------------------------------------------------------------------------


def test_list_shows_only_my_subjects(api_a, api_b, subject_a, subject_b):
    mine = api_a.get("/subjects")
    assert mine.status_code == 200
    assert [s["id"] for s in mine.json()] == [subject_a.pk]
    row = mine.json()[0]
    assert row["number"] == subject_a.number
    assert row["name"] == subject_a.name
    assert row["province"] == "11"
    assert row["status"] == "active"
    assert row["website_count"] == 2
    assert row["open_order"] is None
    assert [s["id"] for s in api_b.get("/subjects").json()] == [subject_b.pk]


def test_list_shows_the_open_order(api_a, subject_a):
    order = change_subject(api_a, subject_a.pk)
    assert api_a.get("/subjects").json()[0]["open_order"] == order["id"]


def test_list_for_bureau_is_its_province(api_bureau_44, subject_a, subject_b):
    assert [s["id"] for s in api_bureau_44.get("/subjects").json()] == [subject_b.pk]


# --- GET /subjects/{id} ----------------------------------------------------------------------------


def test_subject_detail(api_a, subject_a):
    r = api_a.get(f"/subjects/{subject_a.pk}")
    assert r.status_code == 200
    s = r.json()
    assert s["id"] == subject_a.pk
    assert s["number"] == subject_a.number
    assert s["name"] == subject_a.name
    assert s["province"] == "11"
    assert s["province_name"] == "北京市"
    assert s["nature"] == "enterprise"
    assert s["status"] == "active"
    assert s["is_shell"] is False
    assert s["open_order"] is None
    assert set(s["actions"]) == SUBJECT_ACTIONS
    for name, action in s["actions"].items():
        assert set(action) >= ACTION_KEYS, name
        assert action["allowed"] is True, (name, action)
        assert action["reason"] is None and action["message"] is None and action["blocking_order"] is None
    sites = s["websites"]
    assert [w["number"] for w in sites] == [f"{subject_a.number}-1", f"{subject_a.number}-2"]
    first = sites[0]
    assert {"id", "number", "name", "status", "served_here", "domains", "actions"} <= set(first)
    assert first["status"] == "active" and first["served_here"] is True
    assert [(d["name"], d["tld_approved"], d["status"]) for d in first["domains"]] == [
        ("alpha-shop.cn", True, "active"),
        ("alpha-shop.io", False, "active"),
    ]
    assert set(first["actions"]) == WEBSITE_ACTIONS
    assert first["actions"]["cancel_website"]["allowed"] is True
    assert first["actions"]["change_website"]["allowed"] is True
    assert first["actions"]["cancel_access"]["allowed"] is True
    add_access = first["actions"]["add_access"]
    assert add_access["allowed"] is False and add_access["reason"] == "already_served_here"
    assert add_access["message"]


def test_idn_domain_is_shown_as_u_label(api_a, applicant_a):
    subject = f.filed_subject(applicant_a, domains_per_site=(["敦煌笔记.中国"],))
    d = api_a.get(f"/subjects/{subject.pk}").json()["websites"][0]["domains"][0]
    assert d["name"] == idna.encode("敦煌笔记.中国").decode()
    assert d["unicode"] == "敦煌笔记.中国"
    assert d["tld_approved"] is True


def test_other_applicants_subject_is_404_and_reveals_nothing(api_b, subject_a):
    r = api_b.get(f"/subjects/{subject_a.pk}")
    assert r.status_code == 404
    body = r.json()
    assert body["code"] == "not_found"
    text = r.content.decode("unicode_escape")
    assert subject_a.name not in text and subject_a.number not in text


def test_absent_subject_is_404(api_a, subject_a):
    for sid in (subject_a.pk + 1000, 2**31, 2**63 - 1, 2**63, 10**30, -1):
        r = api_a.get(f"/subjects/{sid}")
        assert r.status_code == 404, sid
        assert r.json()["code"] == "not_found"


def test_absent_and_foreign_subject_answer_alike(api_b, subject_a):
    foreign = api_b.get(f"/subjects/{subject_a.pk}").json()
    absent = api_b.get(f"/subjects/{subject_a.pk + 1000}").json()
    assert foreign["code"] == absent["code"] and foreign["message"] == absent["message"]


def test_subject_id_not_a_number_is_422_invalid_input(api_a):
    r = api_a.get("/subjects/abc")
    assert r.status_code == 422
    assert r.json()["code"] == "invalid_input"


def test_bureau_sees_only_its_province(api_bureau_11, api_bureau_44, subject_a):
    assert api_bureau_11.get(f"/subjects/{subject_a.pk}").status_code == 200
    assert api_bureau_44.get(f"/subjects/{subject_a.pk}").status_code == 404


def test_open_order_blocks_actions_with_a_way_out(api_a, subject_a):
    order = change_subject(api_a, subject_a.pk)
    s = api_a.get(f"/subjects/{subject_a.pk}").json()
    assert s["open_order"]["id"] == order["id"]
    assert s["open_order"]["kind"] == "change_subject"
    assert s["open_order"]["state"] == "provider_review"
    cancel = s["actions"]["cancel_subject"]
    assert cancel["allowed"] is False
    assert cancel["reason"] == "order_in_progress"
    assert cancel["blocking_order"] == order["id"]
    assert "放弃该订单" in cancel["message"]
    for name in ("add_website", "change_subject"):
        assert s["actions"][name]["allowed"] is False
        assert s["actions"][name]["blocking_order"] == order["id"]
    for site in s["websites"]:
        for name in ("cancel_website", "change_website", "cancel_access"):
            action = site["actions"][name]
            assert action["allowed"] is False, name
            assert action["reason"] == "order_in_progress"
            assert action["blocking_order"] == order["id"]
            assert "放弃该订单" in action["message"]


def test_open_order_message_in_english(api_a, subject_a):
    order = change_subject(api_a, subject_a.pk)
    s = api_a.english().get(f"/subjects/{subject_a.pk}").json()
    cancel = s["actions"]["cancel_subject"]
    assert cancel["allowed"] is False and cancel["blocking_order"] == order["id"]
    assert "abandon" in cancel["message"]
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in cancel["message"])
    site_cancel = s["websites"][0]["actions"]["cancel_website"]
    assert "abandon" in site_cancel["message"]
    assert s["province_name"] == "Beijing"


def test_order_at_the_bureau_cannot_be_abandoned_says_the_action(api_a, subject_a):
    site = subject_a.websites.get(sequence=2)
    r = api_a.post(
        "/orders",
        {"kind": "cancel_website", "website": site.pk, "password": f.PASSWORD, "reason": "停止运营"},
    )
    assert r.status_code == 201, r.content
    assert r.json()["state"] == "bureau_review"
    cancel = api_a.get(f"/subjects/{subject_a.pk}").json()["actions"]["cancel_subject"]
    assert cancel["allowed"] is False and cancel["reason"] == "order_in_progress"
    assert cancel["blocking_order"] == r.json()["id"]
    assert "放弃该订单" not in cancel["message"]
    assert "不能放弃" in cancel["message"]


def test_cancelled_access_makes_a_shell_website_that_can_add_access(api_a, api_provider, subject_a):
    site = subject_a.websites.get(sequence=2)
    r = api_a.post("/orders", {"kind": "cancel_access", "website": site.pk, "reason": "迁移到其他服务商"})
    assert r.status_code == 201, r.content
    assert r.json()["state"] == "provider_review"
    approved = api_provider.post(f"/reviews/{r.json()['id']}/approve", {"note": "同意"})
    assert approved.status_code == 200 and approved.json()["state"] == "approved"
    s = api_a.get(f"/subjects/{subject_a.pk}").json()
    w = next(w for w in s["websites"] if w["id"] == site.pk)
    assert w["served_here"] is False and w["is_shell"] is True and w["status"] == "active"
    assert w["actions"]["add_access"]["allowed"] is True
    assert w["actions"]["cancel_website"]["allowed"] is False
    assert w["actions"]["cancel_website"]["reason"] == "website_not_served_here"
    r = api_a.post("/orders", {"kind": "add_access", "website": site.pk})
    assert r.status_code == 201 and r.json()["kind"] == "add_access"


# --- the error format, /inspect, docs --------------------------------------------------------------


def test_malformed_json_is_a_json_error_in_the_requests_language(api_a, subject_a):
    r = api_a.post("/orders", raw="{not json")
    assert r.status_code in (400, 422)
    body = r.json()
    assert body["code"] and body["message"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["message"]), body  # zh-hans by default
    r = api_a.english().post("/orders", raw="{not json")
    assert r.status_code in (400, 422) and r.json()["code"]


def test_schema_error_is_422_invalid_input_with_fields(api_a):
    r = api_a.post("/orders", {"kind": "no_such_kind"})
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "invalid_input"
    assert body["fields"] == ["body.kind"] or "kind" in " ".join(body["fields"])
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["message"])
    en = api_a.english().post("/orders", {"kind": "no_such_kind"}).json()
    assert en["code"] == "invalid_input" and en["message"].startswith("Invalid request")


def test_inspect_filing_number(anonymous):
    r = anonymous.get("/inspect", {"q": "京ICP备11018762号-1"})
    assert r.status_code == 200
    d = r.json()
    assert d["kind"] == "filing_number"
    assert d["canonical"] == "京ICP备11018762号-1"
    assert d["province"] == "11"
    assert d["subject_number"] == "京ICP备11018762号"
    assert d["website_sequence"] == 1


def test_inspect_domain(api_a):
    d = api_a.get("/inspect", {"q": "www.例子.中国"}).json()
    assert d["kind"] == "domain"
    assert d["unicode"] == "www.例子.中国"
    assert d["ascii"].endswith(".xn--fiqs8s")
    assert d["tld_approved"] is True
    io = api_a.get("/inspect", {"q": "example.io"}).json()
    assert io["tld_approved"] is False


def test_inspect_bad_input_is_400_with_a_code(anonymous):
    for q in ("bad!!domain", "京ICP备123号"):
        r = anonymous.get("/inspect", {"q": q})
        assert r.status_code == 400, q
        body = r.json()
        assert body["code"] and body["message"] and body["code"] != "invalid_input"
    missing = anonymous.get("/inspect")
    assert missing.status_code == 422 and missing.json()["code"] == "invalid_input"


def test_docs_and_openapi(anonymous):
    docs = anonymous.get("/docs")
    assert docs.status_code == 200 and b"openapi.json" in docs.content
    spec = anonymous.get("/openapi.json")
    assert spec.status_code == 200
    paths = spec.json()["paths"]
    for path in (
        "/api/v1/subjects",
        "/api/v1/subjects/{subject_id}",
        "/api/v1/orders",
        "/api/v1/orders/preview",
        "/api/v1/orders/{order_id}",
        "/api/v1/orders/{order_id}/abandon",
        "/api/v1/orders/{order_id}/verify",
        "/api/v1/orders/{order_id}/resend",
        "/api/v1/reviews",
        "/api/v1/reviews/{order_id}/approve",
        "/api/v1/reviews/{order_id}/reject",
        "/api/v1/inspect",
    ):
        assert path in paths, path
