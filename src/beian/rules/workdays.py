"""China's working-day calendar and honest review ETAs (DOMAIN.md, "Order kinds").

Working days follow the State Council's yearly holiday schedule including make-up working days
(调休), through the ``chinese-calendar`` package. A year that package does not cover yet falls back
to Monday–Friday, and every result says so (``covered=False`` with a note) instead of guessing quietly.

Hunan's bureau processes online cancellation applications once a week, on Friday (seed page).
Assumption (UNCONFIRMED): applications submitted Monday–Friday go into that week's Friday batch;
Saturday and Sunday into the next one; a Friday that is not a working day moves the batch to the
next working day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

import chinese_calendar

from beian.rules import provinces
from beian.rules.errors import WorkdayError

PROVIDER_REVIEW_WORKDAYS = 1  # 接入商初审: providers announce about 1-2 working days
BUREAU_REVIEW_TYPICAL_WORKDAYS = 10  # 管局审核: 1-20 working days; per-province figures UNCONFIRMED
BUREAU_REVIEW_MAX_WORKDAYS = 20
MAX_WORKDAYS = 3660  # a bound so that add_workdays is total


class Stage(StrEnum):
    PROVIDER = "provider"
    BUREAU = "bureau"


@dataclass(frozen=True, slots=True)
class WorkdayCheck:
    day: dt.date
    workday: bool
    covered: bool  # False: the official calendar for this year is not known; Monday-Friday assumed
    holiday: str | None = None  # the holiday's name when the day is one (e.g. "National Day")


@dataclass(frozen=True, slots=True)
class Estimate:
    """A computed date and whether the official calendar covered every day it depended on."""

    date: dt.date
    covered: bool
    note_zh: str = ""
    note_en: str = ""


@dataclass(frozen=True, slots=True)
class Eta:
    """The expected decision date of a review stage, with the latest date still normal."""

    stage: Stage
    expected: dt.date
    latest: dt.date
    covered: bool
    basis_zh: str
    basis_en: str
    friday_batch: bool = False


def covered_years() -> tuple[int, int]:
    days = chinese_calendar.constants.holidays
    return min(days).year, max(days).year


def check(day: dt.date) -> WorkdayCheck:
    """Is ``day`` a working day in mainland China (make-up working days included)?"""
    first, last = covered_years()
    if first <= day.year <= last:
        on_holiday, name = chinese_calendar.get_holiday_detail(day)
        return WorkdayCheck(day, not on_holiday, True, name if on_holiday and day.weekday() < 5 else None)
    return WorkdayCheck(day, day.weekday() < 5, False)


def is_workday(day: dt.date) -> bool:
    return check(day).workday


def _uncovered_note(years: set[int]) -> tuple[str, str]:
    first, last = covered_years()
    ys = "、".join(str(y) for y in sorted(years))
    return (
        f"{ys} 年的法定节假日安排尚未收录（日历数据覆盖 {first}–{last} 年），按周一至周五估算",
        f"The official holiday schedule for {', '.join(map(str, sorted(years)))} is not known yet "
        f"(calendar data covers {first}-{last}); Monday to Friday assumed",
    )


def _estimate(day: dt.date, uncovered: set[int]) -> Estimate:
    if not uncovered:
        return Estimate(day, True)
    zh, en = _uncovered_note(uncovered)
    return Estimate(day, False, zh, en)


def _next_day(day: dt.date) -> dt.date:
    if day == dt.date.max:  # refused rather than an OverflowError out of a "total" function
        raise WorkdayError(
            "date_out_of_range",
            "日期超出日历范围（最晚 9999-12-31）",
            "The date is past the end of the calendar (9999-12-31)",
            value=day.isoformat(),
        )
    return day + dt.timedelta(days=1)


def add_workdays(start: dt.date, n: int) -> Estimate:
    """The date ``n`` working days after ``start`` (``n = 0``: the first working day on or after ``start``)."""
    if not 0 <= n <= MAX_WORKDAYS:
        raise WorkdayError(
            "bad_workday_count",
            f"工作日数应在 0 到 {MAX_WORKDAYS} 之间，实际为 {n}",
            f"The number of working days is between 0 and {MAX_WORKDAYS}, not {n}",
            value=n,
        )
    uncovered: set[int] = set()
    day = start
    if n == 0:
        while not (c := check(day)).workday:
            uncovered |= set() if c.covered else {day.year}
            day = _next_day(day)
        if not check(day).covered:
            uncovered.add(day.year)
        return _estimate(day, uncovered)
    remaining = n
    while remaining:
        day = _next_day(day)
        c = check(day)
        if not c.covered:
            uncovered.add(day.year)
        if c.workday:
            remaining -= 1
    return _estimate(day, uncovered)


def workdays_between(start: dt.date, end: dt.date) -> int:
    """Working days after ``start`` up to and including ``end`` (0 when ``end <= start``)."""
    count, day = 0, start
    while day < end:
        day += dt.timedelta(days=1)
        count += is_workday(day)
    return count


def next_friday_batch(submitted: dt.date) -> Estimate:
    """The date Hunan's bureau processes an online application submitted on ``submitted``."""
    friday = submitted + dt.timedelta(days=(4 - submitted.weekday()) % 7)
    batch = add_workdays(friday, 0)
    zh = f"湖南省通信管理局每周五统一处理本周提交的线上申请；本次批处理日为 {batch.date:%Y-%m-%d}"
    en = f"Hunan's bureau processes the week's online applications every Friday; this batch runs on {batch.date:%Y-%m-%d}"
    if batch.date != friday:
        zh += f"（{friday:%m-%d} 周五为节假日，顺延至下一个工作日）"
        en += f" (Friday {friday:%m-%d} is a holiday, moved to the next working day)"
    if not batch.covered:
        zh, en = f"{zh}；{batch.note_zh}", f"{en}; {batch.note_en}"
    return Estimate(batch.date, batch.covered, zh, en)


def review_eta(
    submitted: dt.date,
    *,
    stage: Stage | str,
    province: str,
    cancellation: bool = False,
    typical_workdays: int | None = None,
) -> Eta:
    """The expected decision date of an order that entered ``stage`` on ``submitted``.

    ``typical_workdays`` overrides the bureau's typical review time (deployment setting).
    """
    try:
        stage = Stage(stage)
    except ValueError:
        raise WorkdayError(
            "unknown_stage",
            f"未知的审核阶段 {stage!r}：应为 provider（接入商初审）或 bureau（管局审核）",
            f"Unknown review stage {stage!r}: use provider or bureau",
            value=str(stage),
        ) from None
    if stage is Stage.PROVIDER:
        expected = add_workdays(submitted, PROVIDER_REVIEW_WORKDAYS)
        latest = add_workdays(submitted, 2)
        return Eta(
            stage,
            expected.date,
            latest.date,
            expected.covered and latest.covered,
            f"接入商初审通常 1–2 个工作日{_tail(latest)}",
            f"Provider review usually takes 1-2 working days{_tail(latest, en=True)}",
        )
    prov = provinces.by_code(province)
    if cancellation and prov.friday_batch:
        batch = next_friday_batch(submitted)
        return Eta(
            stage, batch.date, batch.date, batch.covered, batch.note_zh, batch.note_en, friday_batch=True
        )
    typical = typical_workdays if typical_workdays is not None else BUREAU_REVIEW_TYPICAL_WORKDAYS
    expected = add_workdays(submitted, typical)
    latest = add_workdays(submitted, max(typical, BUREAU_REVIEW_MAX_WORKDAYS))
    return Eta(
        stage,
        expected.date,
        latest.date,
        expected.covered and latest.covered,
        f"{prov.bureau}审核通常约 {typical} 个工作日，最长约 {BUREAU_REVIEW_MAX_WORKDAYS} 个工作日{_tail(latest)}",
        f"{prov.bureau_en} usually decides in about {typical} working days, at most about "
        f"{BUREAU_REVIEW_MAX_WORKDAYS}{_tail(latest, en=True)}",
    )


def _tail(estimate: Estimate, *, en: bool = False) -> str:
    if estimate.covered:
        return ""
    return f"; {estimate.note_en}" if en else f"；{estimate.note_zh}"
