"""How the public query's statements run (lookup.db.fetch): a number or domain query is a prepared statement on
PostgreSQL, a name query never is. The answers stay right however often a query runs on one connection, after
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
from beian.lookup.selectors import public_query
from beian.registry.models import Subject
from beian.registry.search import spaced
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
def test_keyed_statements_are_prepared_and_name_statements_never(filings):
    """Numbers and domains run prepared and settle on the generic plan (no planning per query); name statements are
    never prepared, so each is planned for its own text (the generic-plan trap, PERFORMANCE.md), and Django's own
    statements are left unprepared (the connection's prepare_threshold stays None)."""
    a, _ = filings
    for _ in range(RUNS):
        expect_number_and_domain(a)
        for q in ("腾讯", "腾讯音乐", "讯", "有限公司", "音乐科技有限"):
            assert public_query(q)["results"], q
    statements = prepared_statements()
    assert statements, "the number and domain statements are prepared"
    assert not [s for s, _, _ in statements if s.lstrip().startswith("WITH")], "a name statement was prepared"
    # subject number, website number, domain: each prepared once and run on its generic plan after five custom ones
    assert len(statements) == 3
    assert all(generic >= RUNS - 5 for _, generic, _ in statements), statements
    assert connection.connection.prepare_threshold is None


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
