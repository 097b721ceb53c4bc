"""How the public query's statements run (lookup.db.fetch): on PostgreSQL a number or domain query is a prepared
statement, a name query a prepared call of the name function whose plans stay on the indexes. The answers stay right however often a query runs on one connection, after
the connection was closed, killed or saw a failed statement, and from two threads at once; failures still surface
as Django's database errors."""

from __future__ import annotations

import threading

import psycopg
import pytest
from django.db import (
    DatabaseError,
    DataError,
    OperationalError,
    ProgrammingError,
    close_old_connections,
    connection,
    transaction,
)

from beian.lookup import throttle
from beian.lookup.db import fetch
from beian.lookup.selectors import PG_NAME_FUNCTION, public_query
from beian.registry.models import Subject
from beian.registry.search import rare_bigrams, spaced
from tests import factories as f

RUNS = 12  # more than the 5 custom plans after which PostgreSQL may switch a prepared statement to its generic plan


@pytest.fixture(autouse=True)
def _fresh_buckets():
    throttle.reset()
    yield
    throttle.reset()


def make_filings():
    owner = f.user()
    a = f.filed_subject(owner, domains_per_site=(["pgx-music.cn"], ["pgx-games.cn", "pgxgame.net"]))
    Subject.objects.filter(pk=a.pk).update(
        name="深圳腾讯音乐科技有限公司", name_chars=spaced("深圳腾讯音乐科技有限公司")
    )
    b = f.filed_subject(owner, domains_per_site=(["pgx-other.cn"],))
    Subject.objects.filter(pk=b.pk).update(
        name="阿里巴巴网络技术有限公司", name_chars=spaced("阿里巴巴网络技术有限公司")
    )
    a.refresh_from_db()
    b.refresh_from_db()
    return a, b


@pytest.fixture
def filings(db):
    return make_filings()


def websites(q):
    return [r["website_number"] for r in public_query(q)["results"]]


def expect_number_and_domain(a):
    assert websites(a.number) == [a.number + "-1", a.number + "-2"]
    assert websites(a.number + "-2") == [a.number + "-2"]
    assert websites("https://www.pgxgame.net/") == [a.number + "-2"]


def prepared_statements():
    with connection.cursor() as cur:
        cur.execute("SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements")
        return cur.fetchall()


@pytest.mark.django_db
def test_repeated_queries_on_one_connection_answer_the_same(filings):
    a, b = filings
    first = {
        q: public_query(q) for q in (a.number, a.number + "-2", "pgx-games.cn", "腾讯", "腾讯音乐", "讯")
    }
    for _ in range(RUNS):
        for q, answer in first.items():
            assert public_query(q) == answer, q
    assert [r["unit_name"] for r in first["腾讯音乐"]["results"]] == ["深圳腾讯音乐科技有限公司"] * 2
    expect_number_and_domain(a)


@pytest.mark.postgres
@pytest.mark.django_db
def test_public_query_statements_are_prepared_and_settle_on_generic_plans(filings):
    """Numbers, domains and the name function's call run prepared and settle on the generic plan (no planning per
    query); Django's own statements are left unprepared (the connection's prepare_threshold stays None)."""
    a, _ = filings
    for _ in range(RUNS):
        expect_number_and_domain(a)
        for q in ("腾讯", "腾讯音乐", "讯", "有限公司", "音乐科技有限"):
            assert public_query(q)["results"], q
    statements = prepared_statements()
    calls = [s for s in statements if f"{PG_NAME_FUNCTION}(" in s[0]]
    assert calls, "the name function's call is prepared"
    assert not [s for s, _, _ in statements if s.lstrip().startswith("WITH")], (
        "a name statement was prepared as such"
    )
    # subject number, website number, domain: each prepared once and run on its generic plan after five custom ones
    assert len(statements) - len(calls) == 3
    assert all(s[1] >= RUNS - 5 for s in statements if s not in calls), statements
    assert sum(generic for _, generic, _ in calls) >= 5 * (RUNS - 5)
    assert connection.connection.prepare_threshold is None


@pytest.fixture
def plans():
    """The plans PostgreSQL runs on this connection from now on, a function's statements included (auto_explain,
    which only a superuser may load; the settings last as long as the test's transaction)."""
    with connection.cursor() as cur:
        cur.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        if not cur.fetchone()[0]:
            pytest.skip("loading auto_explain needs a PostgreSQL superuser")
        cur.execute("LOAD 'auto_explain'")
        for setting in ("auto_explain.log_min_duration = 0", "auto_explain.log_nested_statements = on"):
            cur.execute(f"SET LOCAL {setting}")
        cur.execute("SET LOCAL client_min_messages = log")  # the plans come to the client as notices
    seen: list[str] = []

    def note(diagnostic):
        seen.append(diagnostic.message_primary or "")

    connection.connection.add_notice_handler(note)
    yield seen
    connection.connection.remove_notice_handler(note)


PADDING = 20_000


def pad_subjects(model: Subject, count: int) -> None:
    """``count`` active subjects copied from ``model`` (new numbers, certificates and names of their own, none
    matching a test's query), then the statistics PostgreSQL plans with."""
    override = {
        "id": "(SELECT max(id) FROM beian_subject) + g",
        "number": "'PAD' || g",
        "certificate_number": "'PAD' || g",
        "name": "'填充' || g",
        "name_chars": "'x' || (g %% 997) || ' y' || (g %% 991) || ' z' || g",
        "status": "'active'",
    }
    columns = [f.column for f in Subject._meta.concrete_fields]
    values = ", ".join(override.get(c, f"s.{c}") for c in columns)
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO beian_subject ({', '.join(columns)}) SELECT {values} "
            "FROM beian_subject s, generate_series(1, %s) g WHERE s.id = %s",
            [count, model.pk],
        )
        cur.execute(  # each with a stored answer, as an active subject with a website has
            "INSERT INTO beian_subject_answer (subject_id, objects) "
            "SELECT id, '{}' FROM beian_subject WHERE number LIKE 'PAD%%'"
        )
        cur.execute("ANALYZE beian_subject, beian_subject_answer, beian_subject_bigram")


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.parametrize("plan", ["ordered", "all", "phrase", "posting", None])
def test_name_pages_stay_on_the_indexes_however_often_they_run(filings, plan, monkeypatch, plans):
    """The generic-plan trap (PERFORMANCE.md): the name functions' statements keep generic plans, built for any query
    text, where a text-search condition's guessed match count makes a sequential scan, or a walk of another index
    filtering every row, look cheapest. Run each variant more often than the five custom plans after which
    PostgreSQL settles on a generic plan: every plan run inside the functions keeps to the indexes — the prefix tier
    a range of the name index, the contains tier the bigram index's match (or the primary key, in id order) — and
    every answer stays the same."""
    from beian.lookup import selectors

    # the contains plan a phrase takes, its "rare" parameter (any of its bigrams is correct)
    def forced(term):
        if plan == "posting":
            return plan, term.split()[-1]
        if plan == "phrase" and rare_bigrams(term):
            return plan, rare_bigrams(term)
        return ("all" if plan == "phrase" else plan), None

    if plan:  # else as the sample of names judges
        monkeypatch.setattr(selectors, "_pg_phrase_plan", forced)
    pad_subjects(filings[1], PADDING)  # a few pages plan anything alike; 20,000 subjects plan as millions do
    queries = ("腾讯", "腾讯音乐", "讯", "有限公司", "深圳腾讯音乐科技有限公司", "（）", "pgx")
    first = {q: public_query(q) for q in queries}
    for _ in range(RUNS):
        for q, answer in first.items():
            assert public_query(q) == answer, q
    with connection.cursor() as cur:  # where the server can compile, every statement planned now would be
        for setting in ("jit_above_cost = 0", "jit_inline_above_cost = -1", "jit_optimize_above_cost = -1"):
            cur.execute(f"SET LOCAL {setting}")
        cur.execute("DISCARD PLANS")  # the function's statements are planned again, under these settings
    for q, answer in first.items():
        assert public_query(q) == answer, q
    with (
        connection.cursor() as cur
    ):  # not for the statements after the test (the deferred constraints' checks)
        for setting in ("jit_above_cost", "jit_inline_above_cost", "jit_optimize_above_cost"):
            cur.execute(f"SET LOCAL {setting} TO DEFAULT")
    assert [r["unit_name"] for r in first["腾讯音乐"]["results"]] == ["深圳腾讯音乐科技有限公司"] * 2
    assert {r["unit_name"] for r in first["有限公司"]["results"]} == {
        "深圳腾讯音乐科技有限公司",
        "阿里巴巴网络技术有限公司",
    }
    pages = [p for p in plans if "Query Text: WITH p AS" in p]  # the NAME statements run inside the functions
    assert len(pages) >= RUNS * len(queries)
    if plan is None:  # 腾讯, one bigram: its rows, no name fetched
        assert any("beian_subject_bigram" in p and "strpos" not in p for p in pages)
    for page in pages:
        assert "Seq Scan" not in page and "Merge Join" not in page and "Hash Join" not in page, page
        assert "JIT:" not in page, page  # compiling costs more than running these plans
        assert "Index Cond: ((name >= $2) AND (name < $3))" in page, page  # the prefix tier
        assert (
            "Index Scan using beian_subject_answer_pkey" in page
            or "Bitmap Index Scan on beian_subject_answer_pkey" in page
        ), page
        if "to_tsvector" in page:
            assert "Bitmap Index Scan on beian_subject_name_fts" in page, page
            assert "Filter: (to_tsvector" not in page, page  # the match is the index's, not a filter on rows
        elif (
            "beian_subject_bigram" in page
        ):  # a bigram's rows in id order (for a phrase, each name by primary key)
            assert "Index Only Scan using beian_subject_bigram_key on beian_subject_bigram" in page, page
            if "strpos" in page:
                assert "Index Scan using beian_subject_pkey on beian_subject" in page, page
        elif "strpos" in page:
            assert "Index Scan using beian_subject_pkey on beian_subject" in page, page  # id order


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_failed_statement_surfaces_and_the_prepared_query_still_answers(filings):
    a, _ = filings
    expect_number_and_domain(a)
    # psycopg's error, as Django's (the API answers it with its JSON 500); the savepoint is what the failure
    # rolls back in this test's transaction
    with pytest.raises(DataError), transaction.atomic():
        fetch("SELECT 1 / (length(%(key)s) - 1)", {"key": "x"})
    with pytest.raises(ProgrammingError), transaction.atomic():
        fetch("SELECT no_such_column FROM beian_website WHERE number = %(key)s", {"key": "x"})
    expect_number_and_domain(a)
    # a statement first prepared inside a savepoint that is then rolled back stays usable: PostgreSQL's prepared
    # statements are not transactional, and psycopg's cache of them agrees
    with pytest.raises(RuntimeError), transaction.atomic():
        assert fetch("SELECT number FROM beian_website WHERE number = %(key)s", {"key": a.number + "-1"})
        raise RuntimeError
    for _ in range(RUNS):
        assert fetch("SELECT number FROM beian_website WHERE number = %(key)s", {"key": a.number + "-1"}) == [
            (a.number + "-1",)
        ]
    # a failed transaction is not hidden: the next statement in it fails too
    with pytest.raises(DatabaseError), transaction.atomic():
        with pytest.raises(DataError):
            fetch("SELECT 1 / (length(%(key)s) - 1)", {"key": "x"})
        public_query(a.number)
    expect_number_and_domain(a)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_number_query_answers_after_the_connection_was_closed_or_killed():
    a, _ = make_filings()
    for _ in range(RUNS):
        expect_number_and_domain(a)
    connection.close()  # CONN_MAX_AGE reached: a new connection, where psycopg prepares afresh (same names)
    for _ in range(RUNS):
        expect_number_and_domain(a)

    def kill_backend():
        """Ends the connection's server process from another connection, as a restart or an idle timeout would:
        the worker's connection learns of it only when it is next used."""
        params = connection.get_connection_params()
        for key in ("cursor_factory", "context", "prepare_threshold"):
            params.pop(key, None)
        with psycopg.connect(**params, autocommit=True) as other:
            pid = connection.connection.info.backend_pid
            assert other.execute("SELECT pg_terminate_backend(%s, 5000)", [pid]).fetchone()[0]

    # killed between two requests: the next request's first statement finds it (lookup.db's health check, in place
    # of Django's SELECT 1) and runs again on a new connection, for a number and for a name alike
    kill_backend()
    close_old_connections()  # what each request does first
    expect_number_and_domain(a)
    kill_backend()
    close_old_connections()
    assert [r["unit_name"] for r in public_query("腾讯音乐")["results"]] == ["深圳腾讯音乐科技有限公司"] * 2
    # killed and no health check pending: the query fails as Django's error, the request's end closes the broken
    # connection, and the next request answers
    kill_backend()
    with pytest.raises(OperationalError):
        public_query(a.number)
    close_old_connections()
    for _ in range(RUNS):
        expect_number_and_domain(a)
    # a statement failing on a sound connection, where the health check was due, surfaces as it is
    close_old_connections()
    with pytest.raises(DataError):
        fetch("SELECT 1 / (length(%(key)s) - 1)", {"key": "x"})
    expect_number_and_domain(a)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_threads_each_prepare_on_their_own_connection():
    """`beian serve --threads 2`: each thread has its own connection and its own prepared statements."""
    a, _ = make_filings()
    expected = public_query(a.number)
    failures = []

    def ask():
        try:
            for _ in range(RUNS):
                if public_query(a.number) != expected or websites("pgxgame.net") != [a.number + "-2"]:
                    failures.append("wrong answer")
        except Exception as exc:  # reported below, with the thread's error
            failures.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=ask) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
