"""The ``beian`` command: inspect, token create, check, demo (``beian.cli.main`` with captured output)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest

from beian.cli import main
from tests import factories as f
from tests.api.conftest import ApiClient

NUMBER_KEYS = {
    "input",
    "kind",
    "canonical",
    "licence",
    "province",
    "abbreviation",
    "subject_number",
    "website_sequence",
    "service_type",
}
DOMAIN_KEYS = {"input", "kind", "ascii", "unicode", "registrable", "tld", "tld_approved", "scope"}


def lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


# --- inspect -----------------------------------------------------------------------------------------


def test_inspect_filing_numbers(capsys):
    assert (
        main(
            [
                "inspect",
                "京ICP备11018762号-1",
                "滇ICP备09010050-5号",
                "陇ICP备2021003158号-2A",
                "粤B2-20090059-5",
            ]
        )
        == 0
    )
    out, err = capsys.readouterr()
    assert err == ""
    beijing, yunnan, gansu_app, licence = lines(out)
    for d in (beijing, yunnan, gansu_app, licence):
        assert set(d) >= NUMBER_KEYS, d
        assert d["kind"] == "filing_number"
    assert beijing["input"] == "京ICP备11018762号-1"
    assert beijing["canonical"] == "京ICP备11018762号-1"
    assert beijing["licence"] == "ICP备"
    assert beijing["province"] == "11" and beijing["abbreviation"] == "京"
    assert beijing["subject_number"] == "京ICP备11018762号"
    assert beijing["website_sequence"] == 1 and beijing["service_type"] == "website"
    assert yunnan["input"] == "滇ICP备09010050-5号"
    assert yunnan["canonical"] == "滇ICP备09010050号-5" and yunnan["province"] == "53"
    assert gansu_app["service_type"] == "app" and gansu_app["website_sequence"] == 2
    assert gansu_app["abbreviation"] == "陇" and gansu_app["province"] == "62"
    assert licence["licence"] == "B2" and licence["province"] == "44"
    assert licence["subject_number"] == "粤B2-20090059" and licence["website_sequence"] == 5


def test_inspect_subject_number(capsys):
    assert main(["inspect", "粤ICP备 2022075904号"]) == 0
    (d,) = lines(capsys.readouterr().out)
    assert d["canonical"] == "粤ICP备2022075904号" and d["subject_number"] == "粤ICP备2022075904号"
    assert d["website_sequence"] is None


def test_inspect_domains(capsys):
    assert main(["inspect", "www.例子.中国", "blog.example.gov.cn", "example.io"]) == 0
    idn, gov, io = lines(capsys.readouterr().out)
    for d in (idn, gov, io):
        assert set(d) >= DOMAIN_KEYS, d
        assert d["kind"] == "domain"
    assert idn["input"] == "www.例子.中国"
    assert idn["ascii"] == "www.xn--fsqu00a.xn--fiqs8s" and idn["unicode"] == "www.例子.中国"
    assert idn["registrable"] == "xn--fsqu00a.xn--fiqs8s" and idn["tld"] == "xn--fiqs8s"
    assert idn["tld_approved"] is True and idn["scope"] == "registrable"
    assert gov["scope"] == "exact" and gov["tld"] == "cn"
    assert io["tld_approved"] is False and io["tld"] == "io"


@pytest.mark.parametrize(
    "bad", ["京ICP备123号", "a..b", "", "not a domain", "x" * 5000, "京ICP备11018762号-0"]
)
def test_inspect_bad_input_exits_2_with_a_message(capsys, bad):
    assert main(["inspect", bad]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("beian inspect:")
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_inspect_mixed_arguments_prints_the_good_ones_and_exits_2(capsys):
    assert main(["inspect", "京ICP备11018762号", "京ICP备123号", "example.com"]) == 2
    out, err = capsys.readouterr()
    assert [d["input"] for d in lines(out)] == ["京ICP备11018762号", "example.com"]
    assert "京ICP备123号" in err and "8 或 10" in err and "Traceback" not in err


def test_inspect_without_arguments_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["inspect"])
    assert exit_.value.code == 2
    assert "usage" in capsys.readouterr().err


def test_python_dash_m_beian_inspect():
    done = subprocess.run(
        [sys.executable, "-m", "beian", "inspect", "京ICP备11018762号-1"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )
    assert done.returncode == 0, done.stderr
    (d,) = lines(done.stdout)
    assert d["canonical"] == "京ICP备11018762号-1" and d["province"] == "11"


# --- token create ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_token_create_prints_a_working_token(capsys):
    owner = f.user("cli-owner")
    subject = f.filed_subject(owner, domains_per_site=(["cli-token.cn"],))
    assert main(["token", "create", "cli-owner"]) == 0
    out, err = capsys.readouterr()
    token = out.strip()
    assert len(out.strip().splitlines()) == 1 and token.startswith("bn_")
    r = ApiClient(token=token).get("/subjects")
    assert r.status_code == 200
    assert [s["id"] for s in r.json()] == [subject.pk]
    assert main(["token", "create", "cli-owner"]) == 0
    assert capsys.readouterr().out.strip() != token  # a new token each time


@pytest.mark.django_db
def test_token_create_for_an_unknown_user_exits_2(capsys):
    assert main(["token", "create", "nobody-here"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "nobody-here" in err and "Traceback" not in err


# --- check -------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_check_passes_on_a_migrated_database(capsys):
    assert main(["check"]) == 0
    out = capsys.readouterr().out
    assert "database" in out and "migrations" in out and "FAIL" not in out


# --- demo --------------------------------------------------------------------------------------------


@pytest.fixture
def demo(db, tmp_path, monkeypatch, capsys) -> dict:
    monkeypatch.setenv("BEIAN_HOME", str(tmp_path))
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    path = tmp_path / "demo-credentials.json"
    assert path.exists(), out
    creds = json.loads(path.read_text("utf-8"))
    creds["_stdout"] = out
    creds["_path"] = path
    return creds


def test_demo_credentials(demo):
    users = demo["users"]
    assert set(users) == {
        "applicant",
        "applicant2",
        "provider",
        "bureau-11",
        "bureau-43",
        "bureau-44",
        "admin",
    }
    for name, cred in users.items():
        assert cred["password"] and cred["token"].startswith("bn_"), name
        assert ApiClient(token=cred["token"]).get("/subjects").status_code == 200, name
        assert cred["token"] in demo["_stdout"]
    assert set(demo["filing_passwords"]) >= {
        "京ICP备11018762号",
        "粤ICP备2022075904号",
        "浙ICP备16028473号",
        "陇ICP备2021003158号",
        "湘ICP备2020012345号",
    }
    assert stat.S_IMODE(demo["_path"].stat().st_mode) == 0o600


def test_demo_guangdong_subject_has_an_open_order(demo):
    api = ApiClient(token=demo["users"]["applicant"]["token"])
    listed = {s["number"]: s for s in api.get("/subjects").json()}
    gd = listed["粤ICP备2022075904号"]
    assert gd["open_order"] is not None
    s = api.get(f"/subjects/{gd['id']}").json()
    cancel = s["actions"]["cancel_subject"]
    assert cancel["allowed"] is False
    assert cancel["reason"] == "order_in_progress"
    assert cancel["blocking_order"] == gd["open_order"] == s["open_order"]["id"]
    assert "放弃该订单" in cancel["message"]
    provider = ApiClient(token=demo["users"]["provider"]["token"])
    assert gd["open_order"] in [o["id"] for o in provider.get("/reviews", {"stage": "provider"}).json()]


def test_demo_zhejiang_subject_is_a_shell(demo):
    api = ApiClient(token=demo["users"]["applicant"]["token"])
    zj = next(s for s in api.get("/subjects").json() if s["number"] == "浙ICP备16028473号")
    assert zj["is_shell"] is True and zj["website_count"] == 0 and zj["status"] == "active"
    s = api.get(f"/subjects/{zj['id']}").json()
    assert [w["status"] for w in s["websites"]] == ["cancelled"]
    assert s["actions"]["cancel_subject"]["allowed"] is False
    assert s["actions"]["cancel_subject"]["reason"] == "shell_subject_offline"


def test_demo_filing_password_cancels_through_the_api(demo):
    api = ApiClient(token=demo["users"]["applicant"]["token"])
    bj = next(s for s in api.get("/subjects").json() if s["number"] == "京ICP备11018762号")
    site = next(w for w in api.get(f"/subjects/{bj['id']}").json()["websites"] if w["number"].endswith("-2"))
    password = demo["filing_passwords"]["京ICP备11018762号"]
    r = api.post("/orders", {"kind": "cancel_website", "website": site["id"], "password": password})
    assert r.status_code == 201, r.content
    assert r.json()["state"] == "bureau_review"
    assert password.encode() not in r.content
    bureau = ApiClient(token=demo["users"]["bureau-11"]["token"])
    assert bureau.post(f"/reviews/{r.json()['id']}/approve", {}).json()["state"] == "approved"
    other = ApiClient(token=demo["users"]["applicant2"]["token"])
    assert other.get(f"/subjects/{bj['id']}").status_code == 404


def test_demo_twice_exits_2_with_a_message(demo, capsys):
    assert main(["demo"]) == 2
    out, err = capsys.readouterr()
    assert "already loaded" in err and "Traceback" not in err
