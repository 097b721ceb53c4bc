"""``beian import`` / ``beian export``: bulk path, per-line errors, idempotence, resume, round trip."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.db import connection

from beian.accounts.models import User
from beian.audit.models import AuditEntry
from beian.core.models import current_value
from beian.gate.models import FeedEntry
from beian.gate.services import served_set_from_feed
from beian.registry import bulk
from beian.registry.models import Domain, Subject, Website
from beian.registry.search import query_terms, spaced
from tests import factories as f
from tests.bulk.conftest import registry_dump, wipe_registry, write_lines, write_synth

pytestmark = pytest.mark.django_db(transaction=True)


def line(n: int, *, domains=None, abbr: str = "京", sites: int = 1, **extra) -> dict:
    """A small valid line: subject ``<abbr>ICP备2024<n>号`` with ``sites`` websites of one domain each."""
    number = f"{abbr}ICP备2024{n:06d}号"
    names = list(domains) if domains is not None else [f"t{n}-{i}.com" for i in range(1, sites + 1)]
    return {
        "number": number,
        "nature": "enterprise",
        "name": f"测试{n}科技有限公司",
        "certificate_type": "uscc",
        "certificate_number": f.uscc(500_000 + n),
        "responsible_name": "张三",
        "responsible_mobile": "13800000000",
        "responsible_email": f"t{n}@example.com",
        "websites": [
            {"number": f"{number}-{i}", "name": f"网站{i}", "domains": [{"name": d, "status": "active"}]}
            for i, d in enumerate(names, start=1)
        ],
        **extra,
    }


def assert_consistent() -> None:
    f.assert_consistent()  # feed replay == served set, audit chain intact


def name_search(chars: str) -> int:
    """Subjects the name index finds for ``chars`` (two characters or more: the phrase query the public
    query runs, from registry.search.query_terms)."""
    variant, term = query_terms(chars, connection.vendor)
    assert variant == "phrase", variant
    with connection.cursor() as cur:
        if connection.vendor == "sqlite":
            cur.execute("SELECT count(*) FROM beian_subject_fts WHERE beian_subject_fts MATCH %s", [term])
        else:
            cur.execute(
                "SELECT count(*) FROM beian_subject "
                "WHERE to_tsvector('simple', name_chars) @@ phraseto_tsquery('simple', %s)",
                [term],
            )
        return cur.fetchone()[0]


# --- a synthetic file into an empty database ------------------------------------------------------------------
def test_synth_file_into_an_empty_database(tmp_path):
    path = write_synth(tmp_path / "national.jsonl", 400, seed=21)
    data = [json.loads(text) for text in path.read_text("utf-8").splitlines()]
    summary = bulk.import_jsonl(path, batch_size=150)
    assert (summary.lines, summary.inserted, summary.updated, summary.failed, summary.batches) == (
        400,
        400,
        0,
        0,
        3,
    )
    assert summary.rows > 400 * 4 and summary.rows_per_second > 0
    assert Subject.objects.count() == 400
    assert Website.objects.count() == sum(len(s["websites"]) for s in data)
    assert Domain.objects.count() == sum(len(w["domains"]) for s in data for w in s["websites"])
    # the gate's replay equals the registry, and only served, active domains are in it
    served = served_set_from_feed()
    assert served == f.served_domains_in_db() and len(served) > 300
    assert FeedEntry.objects.count() == len(served)
    assert_consistent()
    batches = AuditEntry.objects.filter(action=bulk.AUDIT_ACTION).order_by("seq")
    assert [e.data["lines"] for e in batches] == [[1, 150], [151, 300], [301, 400]]
    assert sum(e.data["inserted"] for e in batches) == 400
    # the name index: name_chars set on every row, two-character searches work on both backends
    assert all(s.name_chars == spaced(s.name) for s in Subject.objects.only("name", "name_chars"))
    for word in ("科技", "有限", "网络"):
        assert name_search(word) == Subject.objects.filter(name__contains=word).count() > 0
    # numbers brought in are never issued: the per-province/year counters were raised
    for s in data:
        digits = s["number"][5:-1]
        if len(digits) == 10:
            assert current_value(f"subject-number:{s['province']}:{digits[:4]}") >= int(digits[4:])
    # owners created as applicants without a usable password; statuses and hashes as in the file
    owners = User.objects.filter(username__in={s["owner"] for s in data})
    assert owners.count() == len({s["owner"] for s in data})
    assert all(u.role == "applicant" and not u.has_usable_password() for u in owners)
    cancelled = {s["number"] for s in data if s["status"] == "cancelled"}
    assert set(Subject.objects.filter(status="cancelled").values_list("number", flat=True)) == cancelled
    first = data[0]
    stored = Subject.objects.get(number=first["number"])
    assert stored.filing_password_hash == first["filing_password_hash"]
    assert stored.approved_at == dt.datetime.fromisoformat(first["approved_at"])
    assert not bulk.checkpoint_path(path).exists()  # done: no checkpoint left behind


def test_reimport_is_idempotent_and_updates_what_changed(tmp_path):
    path = write_synth(tmp_path / "s.jsonl", 250, seed=22)
    bulk.import_jsonl(path, batch_size=100)
    before = registry_dump(feed=True)
    again = bulk.import_jsonl(path, batch_size=100)
    assert (again.inserted, again.updated, again.unchanged, again.failed) == (0, 0, 250, 0)
    assert registry_dump(feed=True) == before  # nothing duplicated, nothing rewritten, no feed entries
    # change one subject: a new name, its first website no longer served here, one domain released
    data = [json.loads(text) for text in path.read_text("utf-8").splitlines()]
    target = next(
        s
        for s in data
        if s["status"] == "active" and s["websites"][0]["served_here"] and len(s["websites"]) >= 2
    )
    target["name"] = "深圳市腾讯新名字科技有限公司"
    target["websites"][0]["served_here"] = False
    second = target["websites"][1]
    second["domains"][0]["status"] = "released"
    write_lines(path, data)
    changed = bulk.import_jsonl(path, batch_size=100)
    assert (changed.inserted, changed.updated, changed.unchanged, changed.failed) == (0, 1, 249, 0)
    subject = Subject.objects.get(number=target["number"])
    assert subject.name == target["name"] and subject.name_chars == spaced(target["name"])
    assert name_search("新名字") == 1
    site = Website.objects.get(number=target["websites"][0]["number"])
    assert not site.served_here and site.is_shell  # 空壳网站 unless another provider serves it
    released = bulk.domain_name(second["domains"][0]["name"])[0]
    assert Domain.objects.get(website__number=second["number"], name=released).status == "released"
    denied = set(FeedEntry.objects.filter(action="deny").values_list("domain", flat=True))
    assert released in denied or not second["served_here"]
    assert {bulk.domain_name(d["name"])[0] for d in target["websites"][0]["domains"]} <= denied
    assert Subject.objects.count() == 250 and Website.objects.count() == len(before["websites"])
    assert_consistent()


# --- errors: reported with their line, the rest imported, nothing half-written ---------------------------------
def test_errors_are_reported_by_line_and_the_rest_is_imported(tmp_path):
    held = line(1, domains=["held-elsewhere.cn"])
    bulk.import_jsonl(write_lines(tmp_path / "first.jsonl", [held]))
    bad_uscc = line(7)
    bad_uscc["certificate_number"] = bad_uscc["certificate_number"][:-1] + (
        "0" if bad_uscc["certificate_number"][-1] != "0" else "1"
    )
    cancelled_site = line(8)
    cancelled_site["websites"][0]["status"] = "cancelled"
    items = [
        line(2),  # 1 ok
        '{"number": "京ICP备2024000003号", ',  # 2 broken JSON
        {**line(4), "number": "京ICP备123号"},  # 3 invalid number
        line(5, domains=["t2-1.com"]),  # 4 domain held by line 1 of this file
        {**line(6), "province": "44"},  # 5 province and number disagree
        bad_uscc,  # 6 wrong check character
        cancelled_site,  # 7 a cancelled website cannot hold an active domain
        line(9, sites=2),  # 8 ok
        "",  # 9 blank: skipped
        "[1, 2]",  # 10 not an object
        line(10, domains=["held-elsewhere.cn"]),  # 11 held by a filing already in the database
        {**line(2), "certificate_number": f.uscc(999_999)},  # 12 same number as line 1, new certificate
        line(11, domains=["bad_label.com"]),  # 13 invalid domain
        line(12),  # 14 ok
    ]
    seen = []
    summary = bulk.import_jsonl(
        write_lines(tmp_path / "mixed.jsonl", items), batch_size=5, on_error=seen.append
    )
    codes = {e.line: e.code for e in seen}
    assert codes == {
        2: "bad_json",
        3: "bad_digit_count",
        4: "domain_held",
        5: "province_mismatch",
        6: "bad_uscc_check",
        7: "cancelled_domain_held",
        10: "bad_json",
        11: "domain_held",
        12: "fixed_field",
        13: "invalid_label",
    }
    assert all(str(e).startswith(f"第 {e.line} 行 / line {e.line}: ") for e in seen)
    assert "t2-1.com" in str(next(e for e in seen if e.line == 4))
    assert (summary.lines, summary.inserted, summary.unchanged, summary.failed) == (13, 3, 0, 10)
    numbers = set(Subject.objects.values_list("number", flat=True))
    assert numbers == {line(n)["number"] for n in (1, 2, 9, 12)}
    # the rejected lines left nothing behind: no website, domain or account of theirs
    assert not Website.objects.filter(number__startswith=line(5)["number"]).exists()
    assert not Domain.objects.filter(name__in=["t4-1.com", "t6-1.com", "t7-1.com", "t8-1.com"]).exists()
    assert Domain.objects.filter(name="held-elsewhere.cn").count() == 1
    assert_consistent()
    failed = [
        e.data["failed_lines"] for e in AuditEntry.objects.filter(action=bulk.AUDIT_ACTION).order_by("seq")
    ]
    assert sorted(sum(failed, [])) == sorted(codes)


def test_a_conflict_the_checks_miss_fails_only_its_line(tmp_path, monkeypatch):
    """If the bulk insert hits a constraint anyway (a concurrent writer), the batch goes line by line."""
    bulk.import_jsonl(write_lines(tmp_path / "a.jsonl", [line(1, domains=["taken.cn"])]))
    monkeypatch.setattr(
        bulk._Batch, "precheck", lambda self, records: records
    )  # as if the checks saw nothing
    errors = []
    summary = bulk.import_jsonl(
        write_lines(tmp_path / "b.jsonl", [line(2), line(3, domains=["taken.cn"]), line(4)]),
        on_error=errors.append,
    )
    assert [(e.line, e.code) for e in errors] == [(2, "database")]
    assert (summary.inserted, summary.failed) == (2, 1)
    assert set(Subject.objects.values_list("number", flat=True)) == {line(n)["number"] for n in (1, 2, 4)}
    assert Domain.objects.get(name="taken.cn").website.number == line(1)["number"] + "-1"
    assert_consistent()


def test_fixed_fields_cancellation_cascade_and_retired_numbers(tmp_path):
    path = tmp_path / "one.jsonl"
    original = line(1, sites=3)
    bulk.import_jsonl(write_lines(path, [original]))
    assert len(served_set_from_feed()) == 3
    errors = []
    bulk.import_jsonl(
        write_lines(path, [{**original, "certificate_number": f.uscc(4242)}]), on_error=errors.append
    )
    assert [e.code for e in errors] == ["fixed_field"]
    # 注销主体 through a re-import that lists only the first website: all of them are cancelled
    cancel = {**original, "status": "cancelled", "cancelled_at": "2026-11-01T10:00:00+08:00"}
    cancel["websites"] = [
        {
            **original["websites"][0],
            "status": "cancelled",
            "domains": [{"name": "t1-1.com", "status": "released"}],
        }
    ]
    summary = bulk.import_jsonl(write_lines(path, [cancel]))
    assert summary.updated == 1
    subject = Subject.objects.get(number=original["number"])
    assert subject.status == "cancelled" and not subject.is_shell
    assert set(subject.websites.values_list("status", flat=True)) == {"cancelled"}
    assert set(Domain.objects.values_list("status", flat=True)) == {"released"}
    assert served_set_from_feed() == set() and FeedEntry.objects.filter(action="deny").count() == 3
    assert_consistent()
    errors.clear()
    bulk.import_jsonl(
        write_lines(path, [original]), on_error=errors.append
    )  # a cancelled number stays retired
    assert [e.code for e in errors] == ["cancelled_stays"]
    assert Subject.objects.get(number=original["number"]).status == "cancelled"
    # the domains are free again: a new filing may take them
    summary = bulk.import_jsonl(write_lines(path, [line(2, domains=["t1-1.com"])]))
    assert summary.inserted == 1 and served_set_from_feed() == {"t1-1.com"}
    assert_consistent()


def test_standard_input_without_checkpoint(tmp_path):
    payload = "\n".join(json.dumps(line(n), ensure_ascii=False) for n in (1, 2, 3)).encode()
    summary = bulk.import_jsonl("-", stream=io.BytesIO(payload))
    assert summary.inserted == 3 and Subject.objects.count() == 3
    assert not list(tmp_path.iterdir())


# --- interruption and --resume ----------------------------------------------------------------------------------
def test_interrupted_import_resumes_to_the_same_registry(tmp_path, monkeypatch, frozen_clock):
    path = write_synth(tmp_path / "s.jsonl", 300, seed=31)
    audit_batch, calls = bulk._audit_batch, []

    def crash_in_second_batch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the process is stopped inside batch 2, before its commit
        return audit_batch(*args, **kwargs)

    monkeypatch.setattr(bulk, "_audit_batch", crash_in_second_batch)
    with pytest.raises(KeyboardInterrupt):
        bulk.import_jsonl(path, batch_size=100)
    assert Subject.objects.count() == 100  # batch 1 committed, batch 2 left nothing
    assert bulk.read_checkpoint(path)["line"] == 100
    monkeypatch.setattr(bulk, "_audit_batch", audit_batch)
    resumed = bulk.import_jsonl(path, batch_size=100, resume=True)
    assert (resumed.resumed_after, resumed.lines, resumed.inserted, resumed.failed) == (100, 200, 200, 0)
    assert not bulk.checkpoint_path(path).exists()
    after_resume = registry_dump(feed=True, audit=True)
    wipe_registry()
    straight = bulk.import_jsonl(path, batch_size=100)
    assert straight.inserted == 300
    assert registry_dump(feed=True, audit=True) == after_resume
    assert_consistent()


def test_resume_refuses_a_changed_file(tmp_path, monkeypatch):
    path = write_lines(tmp_path / "x.jsonl", [line(n) for n in range(1, 7)])
    audit_batch, calls = bulk._audit_batch, []

    def crash(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("power cut")
        return audit_batch(*args, **kwargs)

    monkeypatch.setattr(bulk, "_audit_batch", crash)
    with pytest.raises(RuntimeError):
        bulk.import_jsonl(path, batch_size=3)
    monkeypatch.setattr(bulk, "_audit_batch", audit_batch)
    write_lines(path, [line(n) for n in range(11, 17)])  # other content in the same place
    with pytest.raises(bulk.CheckpointMismatch):
        bulk.import_jsonl(path, batch_size=3, resume=True)
    assert Subject.objects.count() == 3


# --- export --------------------------------------------------------------------------------------------------
def test_export_then_import_into_an_empty_database_reproduces_the_registry(tmp_path):
    bulk.import_jsonl(write_synth(tmp_path / "s.jsonl", 300, seed=41), batch_size=120)
    owner = f.quick_user()
    f.filed_subject_sites(  # through the ORM path, with real timestamps (microseconds)
        owner,
        [
            {"domains": ["legacy-a.cn", "legacy-b.net", "中文网站.中国"]},
            {"domains": ["not-here.com"], "served": False},
        ],
    )
    out = io.StringIO()
    count = bulk.export_jsonl(out)
    exported = out.getvalue()
    assert count == 301 == len(exported.splitlines())
    original = registry_dump()
    wipe_registry()
    summary = bulk.import_jsonl(write_lines(tmp_path / "export.jsonl", exported.splitlines()), batch_size=120)
    assert (summary.inserted, summary.failed) == (301, 0)
    assert registry_dump() == original
    again = io.StringIO()
    bulk.export_jsonl(again)
    assert again.getvalue() == exported  # byte for byte
    assert_consistent()


class Username(str):
    """A str subclass: marshal cannot write it, pickle can."""


def test_a_batch_parsed_in_a_worker_arrives_as_it_was_made(tmp_path, monkeypatch, frozen_clock):
    """The rows a parse worker sends (marshal) or, holding a value marshal cannot write, pickles instead."""
    import pickle

    path = write_synth(tmp_path / "s.jsonl", 60, seed=61)
    batch = list(enumerate(path.read_bytes().splitlines(keepends=True), start=1))
    for owner in (bulk.DEFAULT_OWNER, Username("import")):
        monkeypatch.setattr(bulk, "DEFAULT_OWNER", owner)
        lines = batch + [(61, json.dumps(line(1), ensure_ascii=False).encode())]  # no owner: the default
        made = bulk.prepare_batch(lines, connection.vendor)
        packed = pickle.loads(pickle.dumps(bulk._prepare_packed(lines, connection.vendor)))
        assert (packed[1] is None) == (owner.__class__ is not str)
        assert bulk._unpack(packed) == made and len(made.subjects) == 61
