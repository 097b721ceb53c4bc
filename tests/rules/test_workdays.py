"""China's working-day calendar with 调休 and the review ETAs (DOMAIN.md, "Order kinds").

Every pinned date is also checked against the ``chinese_calendar`` package itself, so that a test
states a fact of the official calendar and not a memory of it.
"""

from __future__ import annotations

import datetime as dt

import chinese_calendar
import pytest

from beian.rules import workdays
from beian.rules.errors import ProvinceError, RulesError, WorkdayError
from beian.rules.workdays import Stage

D = dt.date.fromisoformat
FIRST_COVERED, LAST_COVERED = workdays.covered_years()
UNCOVERED = LAST_COVERED + 1  # 2027 with chinese-calendar 1.11


def _monday_in(year: int) -> dt.date:
    day = dt.date(year, 3, 1)
    return day + dt.timedelta(days=-day.weekday() % 7)


def test_the_calendar_covers_2025_and_2026() -> None:
    assert FIRST_COVERED <= 2025 and LAST_COVERED >= 2026


@pytest.mark.parametrize(
    ("day", "workday", "holiday"),
    [
        ("2026-02-14", True, None),  # Saturday, make-up working day (Spring Festival 调休)
        ("2026-02-28", True, None),  # Saturday, make-up working day
        ("2026-02-13", True, None),
        ("2026-02-16", False, "Spring Festival"),
        ("2026-02-23", False, "Spring Festival"),
        ("2026-02-24", True, None),
        ("2026-03-01", False, None),  # an ordinary Sunday
        ("2025-09-28", True, None),  # Sunday, make-up working day (National Day 调休)
        ("2025-10-11", True, None),  # Saturday, make-up working day
        ("2025-10-08", False, "National Day"),
        ("2026-09-20", True, None),  # Sunday, make-up working day
        ("2026-09-25", False, "Mid-autumn Festival"),
        ("2026-10-01", False, "National Day"),
        ("2026-10-02", False, "National Day"),
        ("2026-10-07", False, "National Day"),
        ("2026-10-08", True, None),
        ("2026-10-10", True, None),  # Saturday, make-up working day
        ("2026-01-01", False, "New Year's Day"),
        ("2026-01-05", True, None),
    ],
)
def test_pinned_days(day: str, workday: bool, holiday: str | None) -> None:
    d = D(day)
    assert chinese_calendar.is_workday(d) is workday  # the package agrees
    c = workdays.check(d)
    assert c.day == d
    assert c.workday is workday
    assert workdays.is_workday(d) is workday
    assert c.covered
    assert c.holiday == holiday


def test_a_make_up_day_falls_on_a_weekend() -> None:
    assert D("2026-02-14").weekday() == 5
    assert D("2025-09-28").weekday() == 6


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        ("2026-02-13", 0, "2026-02-13"),
        ("2026-02-13", 1, "2026-02-14"),  # the make-up Saturday counts
        ("2026-02-13", 2, "2026-02-24"),  # across the Spring Festival holiday
        ("2026-02-14", 1, "2026-02-24"),
        ("2026-02-15", 0, "2026-02-24"),  # n = 0 on a holiday: the first working day after it
        ("2026-02-24", 4, "2026-02-28"),  # make-up Saturday again
        ("2026-09-30", 1, "2026-10-08"),  # across National Day
        ("2026-09-30", 3, "2026-10-10"),
        ("2026-10-01", 0, "2026-10-08"),
        ("2026-09-28", 10, "2026-10-16"),
        ("2025-09-26", 1, "2025-09-28"),  # the make-up Sunday counts
        ("2025-09-30", 1, "2025-10-09"),
    ],
)
def test_add_workdays(start: str, n: int, expected: str) -> None:
    result = workdays.add_workdays(D(start), n)
    assert result.date == D(expected)
    assert result.covered
    assert result.note_zh == "" and result.note_en == ""
    if n:
        assert chinese_calendar.find_workday(n, D(start)) == D(expected)
        assert workdays.workdays_between(D(start), result.date) == n


def test_workdays_between() -> None:
    assert workdays.workdays_between(D("2026-09-30"), D("2026-10-08")) == 1
    assert workdays.workdays_between(D("2026-02-13"), D("2026-02-24")) == 2
    assert workdays.workdays_between(D("2026-03-02"), D("2026-03-02")) == 0
    assert workdays.workdays_between(D("2026-03-06"), D("2026-03-02")) == 0


@pytest.mark.parametrize("n", [-1, workdays.MAX_WORKDAYS + 1])
def test_add_workdays_refuses_out_of_range(n: int) -> None:
    with pytest.raises(WorkdayError) as info:
        workdays.add_workdays(D("2026-03-02"), n)
    assert info.value.code == "bad_workday_count"
    assert info.value.message_zh == f"工作日数应在 0 到 {workdays.MAX_WORKDAYS} 之间，实际为 {n}"
    assert isinstance(info.value, RulesError)


# --- Hunan: online cancellations processed once a week, on Friday -----------------------------


@pytest.mark.parametrize(
    ("submitted", "batch"),
    [
        ("2026-03-02", "2026-03-06"),  # Monday -> that Friday
        ("2026-03-05", "2026-03-06"),  # Thursday -> that Friday
        ("2026-03-06", "2026-03-06"),  # Friday -> that Friday
        ("2026-03-07", "2026-03-13"),  # Saturday -> next Friday
        ("2026-03-08", "2026-03-13"),  # Sunday -> next Friday
    ],
)
def test_hunan_friday_batch(submitted: str, batch: str) -> None:
    assert D(batch).weekday() == 4 and chinese_calendar.is_workday(D(batch))
    est = workdays.next_friday_batch(D(submitted))
    assert est.date == D(batch)
    assert est.covered
    assert est.note_zh == f"湖南省通信管理局每周五统一处理本周提交的线上申请；本次批处理日为 {batch}"
    assert est.note_en == (
        f"Hunan's bureau processes the week's online applications every Friday; this batch runs on {batch}"
    )
    eta = workdays.review_eta(D(submitted), province="43", cancellation=True, stage="bureau")
    assert eta.stage is Stage.BUREAU
    assert eta.expected == eta.latest == D(batch)
    assert eta.friday_batch
    assert eta.covered
    assert eta.basis_zh == est.note_zh


@pytest.mark.parametrize(
    ("submitted", "friday", "batch"),
    [
        ("2026-09-28", "2026-10-02", "2026-10-08"),  # National Day
        ("2026-10-02", "2026-10-02", "2026-10-08"),
        ("2026-09-21", "2026-09-25", "2026-09-28"),  # Mid-autumn Festival
        ("2026-02-16", "2026-02-20", "2026-02-24"),  # Spring Festival
        ("2026-02-14", "2026-02-20", "2026-02-24"),  # a make-up Saturday still goes to the next batch
    ],
)
def test_hunan_friday_on_a_holiday_moves_to_the_next_working_day(
    submitted: str, friday: str, batch: str
) -> None:
    assert chinese_calendar.is_holiday(D(friday))
    assert chinese_calendar.find_workday(0, D(friday)) == D(batch)  # the package's next working day
    est = workdays.next_friday_batch(D(submitted))
    assert est.date == D(batch)
    assert est.covered
    assert f"{D(friday):%m-%d} 周五为节假日，顺延至下一个工作日" in est.note_zh
    assert f"Friday {D(friday):%m-%d} is a holiday, moved to the next working day" in est.note_en
    eta = workdays.review_eta(D(submitted), province="43", cancellation=True, stage=Stage.BUREAU)
    assert eta.expected == eta.latest == D(batch)
    assert eta.friday_batch


def test_uncovered_year_falls_back_to_monday_to_friday() -> None:
    monday = _monday_in(UNCOVERED)
    with pytest.raises(NotImplementedError):
        chinese_calendar.is_workday(monday)  # the package really does not cover it
    est = workdays.next_friday_batch(monday)
    assert est.date == monday + dt.timedelta(days=4)
    assert not est.covered
    assert f"{UNCOVERED} 年的法定节假日安排尚未收录" in est.note_zh
    assert "按周一至周五估算" in est.note_zh
    assert f"The official holiday schedule for {UNCOVERED} is not known yet" in est.note_en
    assert "Monday to Friday assumed" in est.note_en
    eta = workdays.review_eta(monday, province="43", cancellation=True, stage="bureau")
    assert eta.expected == est.date
    assert not eta.covered
    assert str(UNCOVERED) in eta.basis_zh and str(UNCOVERED) in eta.basis_en


def test_uncovered_days_are_monday_to_friday() -> None:
    for offset in range(7):
        day = _monday_in(UNCOVERED) + dt.timedelta(days=offset)
        c = workdays.check(day)
        assert not c.covered
        assert c.workday is (offset < 5)
        assert c.holiday is None
    assert not workdays.check(dt.date(FIRST_COVERED - 1, 6, 2)).covered


def test_add_workdays_into_an_uncovered_year_says_so() -> None:
    last_day = dt.date(LAST_COVERED, 12, 31)
    inside = workdays.add_workdays(dt.date(LAST_COVERED, 12, 1), 3)
    assert inside.covered
    crossing = workdays.add_workdays(last_day, 5)
    assert crossing.date.year == UNCOVERED
    assert not crossing.covered
    assert str(UNCOVERED) in crossing.note_zh and str(UNCOVERED) in crossing.note_en
    zero = workdays.add_workdays(_monday_in(UNCOVERED), 0)
    assert zero.date == _monday_in(UNCOVERED)
    assert not zero.covered


# --- other ETAs ---------------------------------------------------------------------------------


def test_hunan_non_cancellation_and_other_provinces_use_the_review_time() -> None:
    submitted = D("2026-09-28")
    normal = workdays.review_eta(submitted, province="43", stage="bureau")
    assert not normal.friday_batch
    assert normal.expected == D("2026-10-16")  # 10 working days across National Day
    assert normal.latest == chinese_calendar.find_workday(workdays.BUREAU_REVIEW_MAX_WORKDAYS, submitted)
    assert normal.basis_zh == "湖南省通信管理局审核通常约 10 个工作日，最长约 20 个工作日"
    assert (
        normal.basis_en
        == "Hunan Communications Administration usually decides in about 10 working days, at most about 20"
    )
    guangdong = workdays.review_eta(submitted, province="44", cancellation=True, stage="bureau")
    assert not guangdong.friday_batch
    assert guangdong.expected == D("2026-10-16")


def test_typical_workdays_is_a_setting() -> None:
    eta = workdays.review_eta(D("2026-03-02"), province="11", stage="bureau", typical_workdays=3)
    assert eta.expected == D("2026-03-05")
    assert eta.latest == chinese_calendar.find_workday(20, D("2026-03-02"))
    longer = workdays.review_eta(D("2026-03-02"), province="11", stage="bureau", typical_workdays=25)
    assert longer.latest == longer.expected == chinese_calendar.find_workday(25, D("2026-03-02"))


def test_provider_review() -> None:
    eta = workdays.review_eta(D("2026-02-13"), province="43", stage="provider", cancellation=True)
    assert eta.stage is Stage.PROVIDER
    assert eta.expected == D("2026-02-14")
    assert eta.latest == D("2026-02-24")
    assert eta.basis_zh == "接入商初审通常 1–2 个工作日"
    assert eta.covered and not eta.friday_batch


def test_review_eta_refusals() -> None:
    with pytest.raises(WorkdayError) as info:
        workdays.review_eta(D("2026-03-02"), province="43", stage="minister")
    assert info.value.code == "unknown_stage"
    assert info.value.message_en == "Unknown review stage 'minister': use provider or bureau"
    with pytest.raises(ProvinceError):
        workdays.review_eta(D("2026-03-02"), province="99", stage="bureau")
