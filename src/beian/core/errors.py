"""Errors raised by services, each with a stable code, an HTTP status and bilingual messages.

Routers and views never invent error texts: they render ``code``, ``message(lang)`` and ``context``.
"""

from __future__ import annotations

from beian.rules.errors import RulesError


class ServiceError(RulesError):
    """A refusal by a service: ``status`` is the HTTP status the API answers with."""

    status = 400

    def __init__(self, code: str, message_zh: str, message_en: str, *, status: int | None = None, **context):
        super().__init__(code, message_zh, message_en, **context)
        if status is not None:
            self.status = status

    def headers(self) -> dict[str, str]:
        """HTTP headers that go with this refusal wherever it is answered (API, form page, sign-in)."""
        return {}


class Invalid(ServiceError):
    status = 422


class NotAllowed(ServiceError):
    status = 403


class NotFound(ServiceError):
    status = 404


class Conflict(ServiceError):
    status = 409


class Locked(ServiceError):
    status = 423


class Throttled(ServiceError):
    status = 429

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.context["retry_after"])} if "retry_after" in self.context else {}


def throttled_page(response, refusal: RulesError | None):
    """A page re-shown after a throttled attempt answers 429 with Retry-After, as the API does; any other
    refusal is shown on the page itself (its form errors) and keeps the page's status."""
    if isinstance(refusal, Throttled):
        response.status_code = refusal.status
        for name, value in refusal.headers().items():
            response[name] = value
    return response


def not_found(what_zh: str, what_en: str, **context) -> NotFound:
    return NotFound(
        "not_found", f"{what_zh}不存在或无权查看", f"{what_en} does not exist or is not yours", **context
    )
