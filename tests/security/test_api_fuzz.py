"""Schemathesis against /api/v1: every operation, as every role, never a 5xx and always as documented.

The schema is the one the running app serves (``/api/v1/openapi.json``, loaded through WSGI). Each
generated request (Schemathesis' coverage cases and Hypothesis' fuzzing, valid and invalid inputs) is
sent in-process as one of anonymous, an applicant, the provider reviewer, a Beijing bureau reviewer and
an admin (Bearer tokens), taken in turn so that every operation meets every role. Half of the generated
ids, filing numbers and passwords are turned into those of the seeded world (``world`` in conftest.py),
so requests reach real subjects, websites and open orders, and change them. The response must not be a
server error, and its status, content type and body must be the ones the schema documents.

Transactional database access: the app runs in autocommit as in production (``select_for_update``
outside a transaction, on_commit hooks and the throttles' own commits behave as they do when served);
Django's WSGI handler would anyway close, at the end of a request, a connection left inside a test's
transaction (on PostgreSQL).
Throttles stay on: the filing-password lockout (423) and the recovery limit (429) are documented
answers. Only the public query's per-IP bucket is raised, or nearly every fuzzed query would be a 429.

``test_lone_surrogates_in_json_are_invalid_input``: JSON ``"\\ud800"`` escapes, which Schemathesis
never generates, in every string of every JSON body.
"""

from __future__ import annotations

import json

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from werkzeug.test import Client

from beian.accounts.services import token_create, user_create
from beian.lookup import throttle as public_throttle
from beian.web.wsgi import application
from tests import factories as f
from tests.security.conftest import ROLES

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

ID_PARAMETERS = {"subject_id": "subjects", "subject": "subjects", "subjects": "subjects"}
ID_PARAMETERS |= {"website": "websites", "websites": "websites", "order_id": "orders"}


def _real(value, pool: list):
    """Half of the generated ids become ids of seeded objects (deterministically, for shrinking)."""
    if isinstance(value, bool) or not pool:
        return value
    if isinstance(value, int) and value % 2 == 0:
        return pool[(value // 2) % len(pool)]
    if isinstance(value, str) and len(value) % 2 == 0:
        return pool[len(value) // 2 % len(pool)]
    return value


def _aim(container, world, *, path: bool = False) -> None:
    """Point ids, filing numbers, province codes (in paths) and filing passwords of ``container`` at the
    seeded world, in place, for half of the generated values."""
    if not isinstance(container, dict):
        return
    for key, value in container.items():
        if key in ID_PARAMETERS:
            pool = getattr(world, ID_PARAMETERS[key])
            container[key] = (
                [_real(v, pool) for v in value] if isinstance(value, list) else _real(value, pool)
            )
        elif key == "number":
            container[key] = _real(value, world.numbers)
        elif key == "password":  # the filing password: some cancellations get through
            container[key] = _real(value, [f.PASSWORD])
        elif key == "code" and path and isinstance(value, str) and not value.isdigit():
            container[key] = _real(value, ["11", "44", "43", "51", "99"])


@pytest.fixture
def role_of():
    """The role a generated request is sent as: the roles in turn, one per distinct request, so that every
    operation meets every role; a request replayed by Hypothesis (to confirm or shrink a failure) keeps
    its role. Sending every request as every role would cost five times as long for little more."""
    assigned: dict[str, str] = {}

    def role_of(case) -> str:
        key = repr((case.method, case.path, case.path_parameters, case.query, case.body))
        return assigned.setdefault(key, ROLES[len(assigned) % len(ROLES)])

    return role_of


@pytest.fixture
def public_limits(settings):
    """The public query's per-IP bucket would answer 429 to nearly every fuzzed query: raise it here only."""
    settings.BEIAN_PUBLIC_RATE, settings.BEIAN_PUBLIC_BURST = 1e6, 10**6
    public_throttle.reset()
    yield
    public_throttle.reset()


@pytest.mark.django_db(transaction=True)
@schema.parametrize()
@settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_for_every_role(case, world, public_limits, role_of):
    role = role_of(case)
    _aim(case.path_parameters, world, path=True)
    _aim(case.query, world)
    _aim(case.body, world)
    # Only the role's credentials: no generated Authorization header or session cookie.
    case.headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
    case.cookies = {}
    case.call_and_validate(headers=world.headers(role), checks=CHECKS)


def _poisoned(value):
    """``value`` with a lone surrogate after every string: valid JSON (``"\\ud800"``) but not text."""
    if isinstance(value, str):
        return value + "\ud800"
    if isinstance(value, list):
        return [_poisoned(v) for v in value]
    if isinstance(value, dict):
        return {k: _poisoned(v) for k, v in value.items()}
    return value


def _has_text(value) -> bool:
    if isinstance(value, str):
        return True
    if isinstance(value, list | dict):
        return any(_has_text(v) for v in (value.values() if isinstance(value, dict) else value))
    return False


# POST operations with a JSON body (abandon and resend take none; a paper application is multipart).
JSON_BODIES = schema.include(method="POST").exclude(path_regex="abandon|resend|offline/applications")


@pytest.fixture
def admin_headers(db):
    admin = user_create(username="fuzz-admin", password=None, role="admin")
    return {"Authorization": f"Bearer {token_create(user=admin)}"}


@pytest.mark.django_db(transaction=True)  # the WSGI handler closes a connection left in a transaction
@JSON_BODIES.parametrize()
@settings(
    max_examples=8,
    phases=[Phase.generate],
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_lone_surrogates_in_json_are_invalid_input(case, admin_headers, public_limits):
    """JSON escapes deliver lone surrogates ("\\ud800") that no database can store: they are refused
    as invalid input, not met as an encoding error deep inside (a 500). As an admin, whom no
    operation turns away before reading the body."""
    body = _poisoned(case.body)
    # Sent by hand: Schemathesis re-validates an edited case and cannot encode the surrogates itself.
    response = Client(application).post(
        case.operation.path.format(**(case.path_parameters or {})),
        query_string=case.query or {},
        data=body if isinstance(body, bytes) else json.dumps(body),  # ASCII escapes: "\\ud800"
        content_type="application/json",
        headers=admin_headers,
    )
    case.validate_response(response, checks=CHECKS)
    if _has_text(body):
        assert response.status_code in (400, 422), response.text
        assert response.json["code"] == "invalid_input"
