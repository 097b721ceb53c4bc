"""The HTTP API at /api/v1 (django-ninja; OpenAPI at /api/v1/docs).

Errors are JSON ``{"code", "message", ...context}``; ``message`` follows the request's language
(zh-hans by default, English with ``Accept-Language: en``).
"""

from __future__ import annotations

from django.utils.translation import get_language
from ninja import NinjaAPI

from beian.rules.describe import describe
from beian.rules.errors import RulesError

api = NinjaAPI(
    title="beian API",
    version="1",
    description="ICP 备案平台接口 / ICP filing platform API",
    urls_namespace="api",
)


def error_body(exc: RulesError) -> dict:
    return {"code": exc.code, "message": exc.message(get_language() or "zh-hans"), **_jsonable(exc.context)}


def _jsonable(context: dict) -> dict:
    return {
        k: v if isinstance(v, str | int | float | bool | type(None) | list | dict) else str(v)
        for k, v in context.items()
    }


@api.exception_handler(RulesError)
def rules_error(request, exc: RulesError):
    return api.create_response(request, error_body(exc), status=400)


@api.get("/inspect", tags=["rules"], summary="Describe a filing number or a domain")
def inspect(request, q: str):
    """What ``q`` is: a filing number (canonical form, province, licence, suffix) or a domain
    (A-label, U-label, registrable domain, TLD approval, scope)."""
    return describe(q)
