"""API shapes of orders, subjects and their actions (django-ninja / pydantic)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Field, Schema
from pydantic import ConfigDict

from beian.orders.choices import Kind


class ActionOut(Schema):
    allowed: bool
    reason: str | None = None
    message: str | None = None
    blocking_order: int | None = None
    context: dict[str, Any] | None = None


class DomainOut(Schema):
    name: str
    unicode: str
    status: str
    tld_approved: bool


class WebsiteOut(Schema):
    id: int
    number: str | None
    name: str
    homepage: str
    content_type: str
    status: str
    served_here: bool
    is_shell: bool
    domains: list[DomainOut]
    actions: dict[str, ActionOut] | None = None


class EventOut(Schema):
    at: dt.datetime
    action: str
    from_state: str
    to_state: str
    actor_role: str
    note: str


class RefOut(Schema):
    id: int
    number: str | None
    name: str


class OrderOut(Schema):
    id: int
    kind: str
    kind_label: str
    state: str
    state_label: str
    channel: str
    verification: str
    subject: RefOut
    website: RefOut | None
    payload: dict[str, Any]
    eta: dt.date | None
    eta_latest: dt.date | None
    eta_note: str
    eta_covered: bool
    created_at: dt.datetime
    updated_at: dt.datetime
    decided_at: dt.datetime | None
    decision_note: str
    abandonable: bool
    stages: list[dict[str, str]]
    events: list[EventOut]


class OrderSummaryOut(Schema):
    id: int
    kind: str
    kind_label: str
    state: str
    state_label: str
    subject: RefOut
    website: RefOut | None
    eta: dt.date | None
    created_at: dt.datetime
    updated_at: dt.datetime


class SubjectOut(Schema):
    id: int
    number: str | None
    name: str
    province: str
    province_name: str
    nature: str
    nature_label: str
    status: str
    is_shell: bool
    websites: list[WebsiteOut]
    open_order: OrderSummaryOut | None
    actions: dict[str, ActionOut]


class SubjectSummaryOut(Schema):
    id: int
    number: str | None
    name: str
    province: str
    status: str
    is_shell: bool
    website_count: int
    open_order: int | None


class SubjectFields(Schema):
    name: str | None = None
    address: str | None = None
    responsible_name: str | None = None
    responsible_mobile: str | None = None
    responsible_email: str | None = None


class WebsiteFields(Schema):
    name: str | None = None
    homepage: str | None = None
    content_type: str | None = None
    responsible_name: str | None = None
    responsible_mobile: str | None = None
    responsible_email: str | None = None


class OrderIn(Schema):
    kind: Kind
    subject: int | None = Field(None, description="the subject (id) for subject kinds")
    website: int | None = Field(None, description="the website (id) for website kinds")
    # new_filing
    province: str | None = Field(None, max_length=6)
    nature: str | None = Field(None, max_length=40)
    certificate_type: str | None = Field(None, max_length=60)
    certificate_number: str | None = Field(None, max_length=100)
    subject_info: SubjectFields | None = None
    # new_filing / add_website
    website_info: WebsiteFields | None = None
    domain: str | None = Field(None, max_length=2048)
    # change_subject / change_website
    changes: dict[str, Any] | None = None
    remove_domains: list[str] | None = Field(None, max_length=100)
    # cancellations
    password: str | None = Field(None, description="the filing password (备案密码), password mode")
    acknowledge_irreversible: bool = False
    reason: str | None = Field(None, max_length=500)
    other_provider_serves: bool = False
    dry_run: bool = Field(False, description="cancellations: answer the preview instead of submitting")


class PreviewOut(Schema):
    kind: str
    subject: int
    subject_number: str | None
    websites: list[dict[str, Any]]
    unapproved_tld_domains: list[str]
    stops_serving: list[str]
    subject_becomes_shell: bool
    verification: str
    eta: dt.date | None
    eta_latest: dt.date | None
    eta_note: str


class DecisionIn(Schema):
    note: str | None = Field(None, max_length=2000)


class RejectIn(Schema):
    reason: str = Field(..., max_length=2000)


class CodeIn(Schema):
    code: str = Field(..., max_length=100)


class ErrorOut(Schema):
    """Every error of /api/v1: a stable code, a message in the request's language, and the refusal's
    context (``field``, ``fields``, ``retry_after``, ``attempts_remaining``, ...)."""

    model_config = ConfigDict(extra="allow")

    code: str
    message: str


def errors(*statuses: int) -> dict[int, type[ErrorOut]]:
    """The error statuses an operation may answer, for its ``response=`` (so that OpenAPI lists them)."""
    return dict.fromkeys(statuses, ErrorOut)
