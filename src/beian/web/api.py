"""The HTTP API at /api/v1 (django-ninja; OpenAPI at /api/v1/docs).

Every error is JSON ``{"code", "message", ...context}``; ``message`` follows the request's language
(zh-hans by default, English with ``Accept-Language: en``). Statuses: 400/422 invalid input, 401/403
not allowed, 404 not yours or absent, 409 conflict, 423 locked, 429 throttled (with ``Retry-After``).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import BadRequest, ObjectDoesNotExist, PermissionDenied, SuspiciousOperation
from django.core.signals import got_request_exception
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser

from beian.core.errors import ServiceError
from beian.core.http import language
from beian.lookup.api import router as public_router
from beian.offline.api import router as provinces_router
from beian.orders.api import reviews as reviews_router
from beian.orders.api import router as orders_router
from beian.orders.recovery_api import router as recovery_router
from beian.orders.schemas import errors
from beian.registry.api import router as subjects_router
from beian.rules.describe import describe
from beian.rules.errors import RulesError


def _require_text(value) -> None:
    if isinstance(value, str):
        value.encode("utf-8")  # UnicodeEncodeError (a ValueError) on a lone surrogate
    elif isinstance(value, dict):
        for key, item in value.items():
            _require_text(key)
            _require_text(item)
    elif isinstance(value, list):
        for item in value:
            _require_text(item)


class TextJSONParser(Parser):
    """JSON bodies whose strings are all text. ``"\\ud800"`` is valid JSON, but a lone surrogate is no
    character and no database stores it: refused here (400, like malformed JSON), it cannot fail later
    as an encoding error deep in a query (a 500)."""

    def parse_body(self, request):
        data = super().parse_body(request)
        _require_text(data)
        return data


api = NinjaAPI(
    title="beian API",
    version="1",
    description="ICP 备案平台接口 / ICP filing platform API. Errors: {code, message, ...context}.",
    urls_namespace="api",
    parser=TextJSONParser(),
)


def _jsonable(context: dict) -> dict:
    return {
        k: v if isinstance(v, str | int | float | bool | type(None) | list | dict) else str(v)
        for k, v in context.items()
    }


def error_body(exc: RulesError) -> dict:
    return {**_jsonable(exc.context), "code": exc.code, "message": exc.message(language())}


@api.exception_handler(RulesError)
def rules_error(request, exc: RulesError):
    status = exc.status if isinstance(exc, ServiceError) else 400
    response = api.create_response(request, error_body(exc), status=status)
    for name, value in (exc.headers() if isinstance(exc, ServiceError) else {}).items():
        response[name] = value
    return response


@api.exception_handler(NinjaValidationError)
def validation_error(request, exc: NinjaValidationError):
    fields = [".".join(str(p) for p in e.get("loc", ())[1:]) or "body" for e in exc.errors]
    zh = "请求内容不正确：" + "；".join(
        f"{f}：{e.get('msg', '')}" for f, e in zip(fields, exc.errors, strict=False)
    )
    en = "Invalid request: " + "; ".join(
        f"{f}: {e.get('msg', '')}" for f, e in zip(fields, exc.errors, strict=False)
    )
    body = {"code": "invalid_input", "message": en if language().startswith("en") else zh, "fields": fields}
    return api.create_response(request, body, status=422)


@api.exception_handler(AuthenticationError)
def auth_error(request, exc):
    zh, en = (
        "请先登录，或在 Authorization 头中提供有效的 API 令牌",
        "Sign in, or send a valid API token in the Authorization header",
    )
    return api.create_response(
        request,
        {"code": "not_authenticated", "message": en if language().startswith("en") else zh},
        status=401,
    )


@api.exception_handler(ObjectDoesNotExist)
@api.exception_handler(Http404)
def not_found(request, exc):
    zh, en = "对象不存在或无权查看", "Not found, or not yours"
    return api.create_response(
        request, {"code": "not_found", "message": en if language().startswith("en") else zh}, status=404
    )


HTTP_ERRORS = {
    400: ("invalid_input", "请求内容不是有效的 JSON", "The request body is not valid JSON"),
    403: (
        "csrf_failed",
        "CSRF 校验失败：请刷新页面后重试，或使用 API 令牌",
        "CSRF check failed: reload the page, or use an API token",
    ),
}


@api.exception_handler(HttpError)
def http_error(request, exc: HttpError):
    code, zh, en = HTTP_ERRORS.get(exc.status_code, (f"http_{exc.status_code}", str(exc), str(exc)))
    body = {"code": code, "message": en if language().startswith("en") else zh}
    return api.create_response(request, body, status=exc.status_code)


@api.exception_handler(PermissionDenied)
@api.exception_handler(SuspiciousOperation)
@api.exception_handler(BadRequest)
def django_refusal(request, exc):
    """Django's own refusals (e.g. a body over DATA_UPLOAD_MAX_MEMORY_SIZE) keep their status, in JSON."""
    if isinstance(exc, PermissionDenied):
        status, code, zh, en = 403, "forbidden", "无权执行此操作", "Not allowed"
    else:
        status, code, zh, en = 400, "bad_request", "请求无效或过大", "The request is invalid or too large"
    body = {"code": code, "message": en if language().startswith("en") else zh}
    return api.create_response(request, body, status=status)


@api.exception_handler(Exception)
def internal_error(request, exc: Exception):
    """Any other exception: JSON like every other answer here, logged and signalled as Django does for its
    HTML 500 page (``django.request`` error log, ``got_request_exception`` for error reporters and the test
    client). The message names no internals: they are in the log."""
    if settings.DEBUG:
        raise exc  # the technical 500 page, with the traceback
    logging.getLogger("django.request").error(
        "Internal Server Error: %s",
        request.path,
        exc_info=exc,
        extra={"status_code": 500, "request": request},
    )
    got_request_exception.send(sender=None, request=request)
    zh, en = (
        "服务器内部错误，请稍后重试；如持续出现请联系接入商",
        "Internal error; try again later, or contact the provider",
    )
    return api.create_response(
        request, {"code": "internal_error", "message": en if language().startswith("en") else zh}, status=500
    )


@api.get(
    "/inspect",
    response={200: dict, **errors(400, 422)},
    tags=["rules"],
    summary="Describe a filing number or a domain",
)
def inspect(request, q: str):
    """What ``q`` is: a filing number (canonical form, province, licence, suffix) or a domain
    (A-label, U-label, registrable domain, TLD approval, scope)."""
    return describe(q)


api.add_router("", public_router)  # first: the public query is the hottest route
api.add_router("", subjects_router)
api.add_router("", orders_router)
api.add_router("", reviews_router)
api.add_router("", recovery_router)
api.add_router("", provinces_router)
