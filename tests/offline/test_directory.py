"""The province directory (线下注销, by province): /api/v1/provinces and the pages /provinces/….

The seed lists 28 provinces whose bureau page offers the 注销备案申请表 for download; Shanghai (31) runs its
own system, Sichuan's (51) needs a registered account, Hunan (43) processes online applications every
Friday, moved to the next working day when that Friday is a public holiday (chinese-calendar).
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from tests.offline.conftest import set_today

pytestmark = pytest.mark.django_db

SPECIAL = {"31": "own_system", "51": "registered_account_system", "43": "online_friday_batch"}
ABBREVIATIONS = set("京津沪渝冀豫辽黑湘皖鲁新苏浙赣鄂桂晋蒙陕吉闽粤青藏宁琼滇黔蜀陇")
BUREAUS = {
    "11": "北京市通信管理局",
    "31": "上海市通信管理局",
    "43": "湖南省通信管理局",
    "44": "广东省通信管理局",
    "45": "广西壮族自治区通信管理局",
    "51": "四川省通信管理局",
    "54": "西藏自治区通信管理局",
    "64": "宁夏回族自治区通信管理局",
    "65": "新疆维吾尔自治区通信管理局",
}


def api(path: str):
    return Client().get("/api/v1" + path)


@pytest.fixture
def entries():
    response = api("/provinces")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    return response.json()


def test_directory_lists_31_provinces_with_distinct_abbreviations(entries):
    assert len(entries) == 31
    codes = [e["code"] for e in entries]
    assert len(set(codes)) == 31 and all(len(c) == 2 and c.isdigit() for c in codes)
    abbreviations = [e["abbreviation"] for e in entries]
    assert len(set(abbreviations)) == 31
    assert set(abbreviations) == ABBREVIATIONS
    by_code = {e["code"]: e for e in entries}
    assert by_code["53"]["abbreviation"] == "滇" and by_code["52"]["abbreviation"] == "黔"
    assert by_code["51"]["abbreviation"] == "蜀" and "川" in by_code["51"]["aliases"]
    assert by_code["62"]["abbreviation"] == "陇"


def test_offline_channels_follow_the_seed(entries):
    by_code = {e["code"]: e for e in entries}
    for code, channel in SPECIAL.items():
        assert by_code[code]["offline_channel"] == channel, code
    assert by_code["51"]["needs_account"] is True
    downloads = [e for e in entries if e["code"] not in SPECIAL]
    assert len(downloads) == 28
    for e in downloads:
        assert e["offline_channel"] == "form_download", e["code"]
        assert e["needs_account"] is False, e["code"]
    assert by_code["31"]["needs_account"] is False and by_code["43"]["needs_account"] is False
    for e in entries:
        assert e["offline_channel_label"] and e["offline_channel_label_en"]
        assert e["offline_url"].startswith(("http://", "https://")), e["code"]
    assert "shca" in by_code["31"]["offline_url"]


def test_bureaus_carry_their_full_names(entries):
    by_code = {e["code"]: e for e in entries}
    for code, bureau in BUREAUS.items():
        assert by_code[code]["bureau"] == bureau
    for e in entries:
        assert e["bureau"] == e["name"] + "通信管理局", e["code"]
        assert e["bureau_en"]


def test_materials_and_data_checked(entries):
    for e in entries:
        keys = [m["key"] for m in e["materials"]]
        assert "domain_certificate" in keys, e["code"]
        certificate = next(m for m in e["materials"] if m["key"] == "domain_certificate")
        assert "域名证书" in certificate["zh"] and "domain certificate" in certificate["en"]
        assert all(m["zh"] and m["en"] for m in e["materials"])
        dt.date.fromisoformat(e["data_checked"])
    only_43 = [e["code"] for e in entries if e["next_processing_date"]]
    assert only_43 == ["43"], "only Hunan has a Friday batch"


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (dt.date(2026, 3, 2), "2026-03-06"),  # Monday: that week's Friday
        (dt.date(2026, 3, 4), "2026-03-06"),  # Wednesday
        (dt.date(2026, 3, 6), "2026-03-06"),  # Friday: that Friday
        (dt.date(2026, 3, 7), "2026-03-13"),  # Saturday: next week's Friday
        (dt.date(2026, 10, 2), "2026-10-08"),  # Friday of the National Day holiday: next working day
        (dt.date(2026, 9, 28), "2026-10-08"),  # Monday of that week
    ],
)
def test_hunan_next_processing_date_follows_the_calendar(today, expected):
    set_today(today)
    response = api("/provinces/43")
    assert response.status_code == 200
    body = response.json()
    assert body["code"] == "43" and body["bureau"] == "湖南省通信管理局"
    assert body["offline_channel"] == "online_friday_batch"
    assert body["next_processing_date"] == expected
    assert expected in body["next_processing_note"]
    if expected == "2026-10-08":
        assert "节假日" in body["next_processing_note"]
    listed = next(e for e in api("/provinces").json() if e["code"] == "43")
    assert listed["next_processing_date"] == expected


def test_other_provinces_have_no_processing_date():
    body = api("/provinces/44").json()
    assert body["bureau"] == "广东省通信管理局"
    assert body["next_processing_date"] is None and body["next_processing_note"] == ""


def test_six_digit_division_code_is_read():
    assert api("/provinces/430000").json()["code"] == "43"


@pytest.mark.parametrize("code", ["99", "abc", "1"])
def test_unknown_province_is_404_json(code):
    response = api(f"/provinces/{code}")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == "not_found" and body["message"]


def test_province_list_page():
    response = Client().get("/provinces/")
    assert response.status_code == 200
    html = response.content.decode()
    for bureau in BUREAUS.values():
        assert bureau in html
    assert html.count('href="/provinces/') >= 31
    assert 'href="/provinces/45"' in html


def test_province_page_shows_the_bureau_and_hunans_next_processing_date():
    set_today(dt.date(2026, 10, 2))
    response = Client().get("/provinces/43")
    assert response.status_code == 200
    html = response.content.decode()
    assert "湖南省通信管理局" in html and "2026-10-08" in html

    page = Client().get("/provinces/45")
    assert page.status_code == 200
    assert "广西壮族自治区通信管理局" in page.content.decode()
    assert "2026-10-08" not in page.content.decode()

    sichuan = Client().get("/provinces/51").content.decode()
    assert "四川省通信管理局" in sichuan and "需注册账户" in sichuan


def test_unknown_province_page_is_404():
    assert Client().get("/provinces/99").status_code == 404
