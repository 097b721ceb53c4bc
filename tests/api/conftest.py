"""Fixtures of the HTTP API tests: users of every role and a JSON client that sends a Bearer token.

Every response a client receives is kept in ``ApiClient.seen`` so that a test can check that no secret
(a filing password) ever appears in any response body.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from beian.accounts.services import token_create, user_create
from tests import factories as f

API = "/api/v1"
SEEN_BODIES: list[bytes] = []  # every body any ApiClient received in the current test


class ApiClient:
    """A ``django.test.Client`` speaking JSON to /api/v1 as one user (Bearer token) or as nobody."""

    def __init__(self, user=None, *, token: str | None = None, language: str | None = None):
        self.user = user
        self.token = token if token is not None else (token_create(user=user, name="test") if user else None)
        headers = {}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if language:
            headers["Accept-Language"] = language
        self.client = Client(headers=headers)

    def _keep(self, response):
        SEEN_BODIES.append(response.content)
        return response

    def get(self, path: str, params: dict | None = None, **headers):
        return self._keep(self.client.get(API + path, params or {}, headers=headers or None))

    def post(self, path: str, body: Any = None, *, raw: str | None = None, **headers):
        data = raw if raw is not None else json.dumps({} if body is None else body)
        return self._keep(
            self.client.post(API + path, data=data, content_type="application/json", headers=headers or None)
        )

    def english(self) -> ApiClient:
        """The same user, asking for English (``Accept-Language: en``)."""
        return ApiClient(self.user, token=self.token or "", language="en")


@pytest.fixture(autouse=True)
def _seen_bodies():
    SEEN_BODIES.clear()
    yield SEEN_BODIES
    SEEN_BODIES.clear()


@pytest.fixture
def seen_bodies():
    return SEEN_BODIES


@pytest.fixture
def applicant_a(db):
    return f.user("applicant-a")


@pytest.fixture
def applicant_b(db):
    return f.user("applicant-b")


@pytest.fixture
def provider(db):
    return f.user("provider-1", role="provider_reviewer")


@pytest.fixture
def bureau_11(db):
    return f.user("bureau-beijing", role="bureau_reviewer", province="11")


@pytest.fixture
def bureau_44(db):
    return f.user("bureau-guangdong", role="bureau_reviewer", province="44")


@pytest.fixture
def admin(db):
    return user_create(username="admin-1", password="pw-admin-1", role="admin", email="admin@example.cn")


@pytest.fixture
def api_a(applicant_a):
    return ApiClient(applicant_a)


@pytest.fixture
def api_b(applicant_b):
    return ApiClient(applicant_b)


@pytest.fixture
def api_provider(provider):
    return ApiClient(provider)


@pytest.fixture
def api_bureau_11(bureau_11):
    return ApiClient(bureau_11)


@pytest.fixture
def api_bureau_44(bureau_44):
    return ApiClient(bureau_44)


@pytest.fixture
def api_admin(admin):
    return ApiClient(admin)


@pytest.fixture
def anonymous(db):
    return ApiClient()


@pytest.fixture
def subject_a(applicant_a):
    """Applicant A's Beijing subject: website -1 (two domains, one on the unapproved .io) and -2."""
    return f.filed_subject(
        applicant_a, domains_per_site=(["alpha-shop.cn", "alpha-shop.io"], ["alpha-docs.cn"])
    )


@pytest.fixture
def subject_b(applicant_b):
    """Applicant B's Guangdong subject with one website."""
    return f.filed_subject(applicant_b, province_abbr="粤", domains_per_site=(["beta-site.com"],))
