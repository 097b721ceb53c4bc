"""The public query's WSGI lane: GET /api/v1/public/filings answered ahead of Django's middleware.

The public query is the hottest, anonymous, read-only path: no session, no user, no CSRF token, no messages.
Yet Django's middleware chain (sessions, locale, CSRF, auth, messages, …) costs about two thirds of a trivial
view's request, more than a number query's own database work. So ``web.wsgi`` puts this lane in front of
Django: it answers the common request — ``q`` once, ``page`` absent or a plain number 1–50, an allowed Host, a
client within its query allowance — with the same ``public_query_json`` the API operation calls, and the
response headers the middleware would have added (``public_headers``; a test compares every header with the
full stack's). Anything else is handed to Django untouched, where the ninja operation answers it as before:
a missing, repeated or over-long ``q``, a bad ``page``, another method, a Host Django must judge, an HTTP
request under ``SECURE_SSL_REDIRECT``, a throttled client (its 429 and Retry-After, in the asked language),
and an unexpected failure (the API's JSON 500, logged like any other).

After each answer the lane does what Django's ``request_finished`` does for the one database connection it used
(a connection past ``CONN_MAX_AGE`` or unusable is closed; the next request's first query checks its health);
sending the signals themselves cost a fifth of a number query. Its answer carries no ``Content-Language`` and does
not vary with Accept-Language: the JSON is the same in every language.

A HEAD request, on any path, gets Django's answer without its body (``head``).
"""

from __future__ import annotations

import io
import logging
from urllib.parse import unquote_plus

from django.conf import settings
from django.core import signals
from django.db import connection
from django.http.request import split_domain_port, validate_host

from beian.core.http import client_ip_of
from beian.lookup.api import json_response, wait_for
from beian.lookup.selectors import MAX_QUERY, public_query_json

PATH = "/api/v1/public/filings"
PAGES = {str(n): n for n in range(1, 51)}
MAX_Q = 1000  # the operation's own limit (a longer q is its 422)
log = logging.getLogger(__name__)


def public_headers(*, secure: bool) -> list[tuple[str, str]]:
    """The headers of the public query's JSON answer, as the API operation and the middleware make them: the
    operation's response (content type, CORS) passed through the response phase of the middleware that add
    headers to it (web.middleware's CSP, XFrameOptionsMiddleware, SecurityMiddleware), in Django's order."""
    from django.core.handlers.wsgi import WSGIRequest
    from django.middleware.clickjacking import XFrameOptionsMiddleware
    from django.middleware.security import SecurityMiddleware

    from beian.web.middleware import SecurityHeadersMiddleware

    scheme, port = ("https", "443") if secure else ("http", "80")
    request = WSGIRequest(
        {"REQUEST_METHOD": "GET", "PATH_INFO": PATH, "SERVER_NAME": "lane", "SERVER_PORT": port,
         "wsgi.url_scheme": scheme, "wsgi.input": io.BytesIO()}
    )  # fmt: skip
    response = json_response("", cors=True)
    response = SecurityHeadersMiddleware(lambda request: response)(request)
    response = XFrameOptionsMiddleware(lambda request: response).process_response(request, response)
    response = SecurityMiddleware(lambda request: response).process_response(request, response)
    return [(k, v) for k, v in response.items() if k != "Content-Length"]


def _params(query_string: str) -> tuple[str, int] | None:
    """q and page of a plain query string, else None. The same decoding as Django's QueryDict (UTF-8, '+' as a
    space, undecodable bytes replaced); raw non-ASCII bytes, other or repeated keys go to Django."""
    if not query_string.isascii():
        return None
    q = page = None
    for part in query_string.split("&"):
        key, eq, value = part.partition("=")
        if key == "q" and q is None and eq:
            q = unquote_plus(value, errors="replace")
        elif key == "page" and page is None:
            page = PAGES.get(value)
            if page is None:
                return None
        else:
            return None
    if q is None or len(q) > MAX_Q:
        return None
    return q, page or 1


# Judged once per process from the settings: the headers per scheme, the Host verdicts (forgotten when a setting
# changes, as in tests).
_headers: dict[bool, list[tuple[str, str]]] = {}
_hosts: dict[str, bool] = {}


def _forget(**kwargs) -> None:
    _headers.clear()
    _hosts.clear()


signals.setting_changed.connect(_forget)


class PublicQueryLane:
    """WSGI middleware around Django's handler (see the module's docstring)."""

    def __init__(self, django_app):
        self.django_app = django_app

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") == "HEAD":
            return self.head(environ, start_response)
        if environ.get("PATH_INFO") == PATH and environ.get("REQUEST_METHOD") == "GET":
            body = self.answer(environ)
            if body is not None:
                secure = self._secure(environ)
                headers = _headers.get(secure)
                if headers is None:
                    headers = _headers[secure] = public_headers(secure=secure)
                start_response("200 OK", [*headers, ("Content-Length", str(len(body)))])
                return [body]
        return self.django_app(environ, start_response)

    def head(self, environ, start_response):
        """A HEAD request, on any path: Django's answer (GET's status and headers, Content-Length included: set by
        CommonMiddleware) without its body, which Django leaves to the server to drop (RFC 9110, 9.3.2)."""
        body = self.django_app(environ, start_response)
        close = getattr(body, "close", None)
        if close is not None:
            close()  # what a server does after sending a body: the request_finished signal, file handles
        return []

    def answer(self, environ) -> bytes | None:
        params = _params(environ.get("QUERY_STRING", ""))
        if params is None or not self._host_allowed(environ):
            return None
        if settings.SECURE_SSL_REDIRECT and not self._secure(environ):
            return None  # Django's redirect to https
        if settings.DISALLOWED_USER_AGENTS or settings.PREPEND_WWW:
            return None  # CommonMiddleware's refusal or redirect
        if wait_for(client_ip_of(environ)):
            return None  # throttled: Django answers the 429 (taking again takes nothing: the bucket is short)
        try:
            return public_query_json(params[0][:MAX_QUERY], params[1]).encode()
        except Exception:
            # Django runs it again and answers a failure as the API does (JSON 500, logged, got_request_exception);
            # its request_started first closes a connection that broke.
            log.debug("public query lane: handing a failed query to Django", exc_info=True)
            return None
        finally:
            # What request_finished does for the one connection used here (close_old_connections): a connection
            # past CONN_MAX_AGE or left unusable is closed; the next request's first query re-checks its health.
            # Not inside an atomic block (a test's transaction), which Django's test client also leaves open.
            if not connection.in_atomic_block:
                connection.close_if_unusable_or_obsolete()

    def _host_allowed(self, environ) -> bool:
        """Django's Host check (HttpRequest.get_host) on the Host it reads (_get_raw_host)."""
        if settings.USE_X_FORWARDED_HOST and "HTTP_X_FORWARDED_HOST" in environ:
            host = environ["HTTP_X_FORWARDED_HOST"]
        elif "HTTP_HOST" in environ:
            host = environ["HTTP_HOST"]
        else:
            host = environ.get("SERVER_NAME", "")
            port = str(environ.get("SERVER_PORT", ""))
            if port != ("443" if self._secure(environ) else "80"):
                host = f"{host}:{port}"
        allowed = _hosts.get(host)
        if allowed is None:
            domain, _port = split_domain_port(host)
            allowed = bool(domain) and validate_host(domain, settings.ALLOWED_HOSTS)
            if len(_hosts) < 1000:  # a flood of made-up Hosts is judged every time, not remembered
                _hosts[host] = allowed
        return allowed

    @staticmethod
    def _secure(environ) -> bool:
        """HttpRequest.is_secure() for this environ."""
        if settings.SECURE_PROXY_SSL_HEADER:
            header, secure_value = settings.SECURE_PROXY_SSL_HEADER
            value = environ.get(header)
            if value is not None:
                return value.split(",", 1)[0].strip() == secure_value
        return environ.get("wsgi.url_scheme") == "https"
