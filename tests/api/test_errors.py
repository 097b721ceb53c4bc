"""Errors under /api/v1 are JSON whatever their cause: an unexpected exception is a JSON 500 (logged, with no
internals in the body), and Django's own refusals keep their status in JSON."""

from __future__ import annotations

import json
import logging

import pytest
from django.test import Client

from tests.api.conftest import API


@pytest.fixture
def broken_directory(monkeypatch):
    def boom():
        raise RuntimeError("secret internals /etc/beian")

    monkeypatch.setattr("beian.offline.api.directory", boom)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "message"),
    [
        (None, "服务器内部错误，请稍后重试；如持续出现请联系接入商"),
        ("en", "Internal error; try again later, or contact the provider"),
    ],
)
def test_unexpected_exception_is_a_json_500_without_internals(broken_directory, caplog, language, message):
    headers = {"Accept-Language": language} if language else {}
    client = Client(raise_request_exception=False, headers=headers)
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = client.get(API + "/provinces")
    assert response.status_code == 500
    assert response["Content-Type"].startswith("application/json")
    assert json.loads(response.content) == {"code": "internal_error", "message": message}
    assert b"secret" not in response.content
    logged = [r for r in caplog.records if r.name == "django.request"]
    assert logged and "Internal Server Error: /api/v1/provinces" in logged[0].getMessage()
    assert logged[0].exc_info[1].args == ("secret internals /etc/beian",)


@pytest.mark.django_db
def test_unexpected_exception_still_reaches_error_reporters(broken_directory):
    # got_request_exception is sent, as for Django's HTML 500: the test client re-raises it
    with pytest.raises(RuntimeError, match="secret internals"):
        Client().get(API + "/provinces")


@pytest.mark.django_db
def test_oversized_body_is_a_json_400(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({"keys": ["x" * 50] * 40})
    response = Client().post(API + "/public/filings:batch", data=body, content_type="application/json")
    assert response.status_code == 400
    assert json.loads(response.content)["code"] == "bad_request"


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["q=abc", "q=abc&page=01"])  # the lean view, and ninja's (page not plain)
def test_public_query_failure_is_a_json_500_on_both_paths(monkeypatch, query):
    def boom(q, page=1):
        raise RuntimeError("database is locked")

    monkeypatch.setattr("beian.lookup.api.public_query_json", boom)
    monkeypatch.setattr("beian.lookup.api.public_query", boom, raising=False)
    response = Client(raise_request_exception=False).get(API + "/public/filings?" + query)
    assert response.status_code == 500
    assert json.loads(response.content)["code"] == "internal_error"
