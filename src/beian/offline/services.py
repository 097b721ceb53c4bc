"""线下注销: the bureau registers a paper application and it runs through the same engine as an online one;
空壳清理: a bureau force-cancels its province's shells, each item through the engine, audited.

Registration creates a ``cancel_subject`` / ``cancel_website`` order with channel ``offline`` directly in
``bureau_review`` (the workflow's ``register_offline`` move); the bureau then approves or rejects it like
any other, with the same effects, feed entries and audit; the subject's owner is notified by the outbox.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from beian.audit.services import audit_append
from beian.core import clock
from beian.core.errors import Conflict, Invalid, NotAllowed, ServiceError, not_found
from beian.offline.models import OfflineApplication
from beian.orders.choices import Channel, Kind, Verification
from beian.orders.models import Order
from beian.orders.services import common, guards
from beian.orders.workflow import Action, Actor, actor_may, move
from beian.registry.choices import SubjectStatus, WebsiteStatus
from beian.registry.models import Subject, Website
from beian.rules import filing_numbers
from beian.rules.errors import RulesError
from beian.web import config

MAX_SCAN_BYTES = 20 * 1024 * 1024
SCAN_TYPES = {
    b"%PDF-": ("application/pdf", "pdf"),
    b"\xff\xd8\xff": ("image/jpeg", "jpg"),
    b"\x89PNG\r\n\x1a\n": ("image/png", "png"),
}
PAPER_CHANNELS = ("counter", "post", "bureau_system")
RECEIVED_VIA = {
    "counter": "窗口递交",
    "post": "邮寄",
    "bureau_system": "管局系统在线申请",
    "shell_cleanup": "空壳清理",
}


@dataclass
class Filing:
    """What a filing number names in the registry: the subject, and the website when it is a website number."""

    subject: Subject
    website: Website | None


def filing_lookup(number: str) -> Filing:
    """The active subject (and website) a filing number names; unknown or cancelled numbers are 404."""
    try:
        parsed = filing_numbers.parse(number)
    except RulesError as exc:
        raise Invalid(exc.code, exc.message_zh, exc.message_en, field="number") from None
    subject = Subject.objects.filter(number=parsed.subject_number, status=SubjectStatus.ACTIVE).first()
    if subject is None:
        raise not_found("备案号", "The filing number", number=parsed.canonical)
    website = None
    if not parsed.is_subject:
        website = subject.websites.filter(number=parsed.canonical, status=WebsiteStatus.ACTIVE).first()
        if website is None:
            raise not_found("网站备案号", "The website filing number", number=parsed.canonical)
    return Filing(subject, website)


def _scan_kind(data: bytes) -> tuple[str, str]:
    for magic, kind in SCAN_TYPES.items():
        if data.startswith(magic):
            return kind
    raise Invalid(
        "bad_scan_type",
        "扫描件只能是 PDF、JPEG 或 PNG 文件",
        "The scan must be a PDF, JPEG or PNG file",
        field="scan",
    )


def store_scan(data: bytes) -> tuple[str, str, str]:
    """Check and store a scanned application; returns (sha256, content type, extension). Content-addressed,
    so a retry or a rolled-back registration leaves at most one harmless file."""
    if not data:
        raise Invalid("scan_required", "请上传申请表扫描件", "Upload the scanned application", field="scan")
    if len(data) > MAX_SCAN_BYTES:
        raise Invalid(
            "scan_too_large",
            "扫描件不能超过 20 MB",
            "The scan is larger than 20 MB",
            field="scan",
            size=len(data),
        )
    content_type, ext = _scan_kind(data)
    digest = hashlib.sha256(data).hexdigest()
    path = scan_path(digest, ext)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".part")
        tmp.write_bytes(data)
        tmp.replace(path)
    return digest, content_type, ext


def scan_path(digest: str, ext: str) -> Path:
    return config.home() / "scans" / digest[:2] / f"{digest}.{ext}"


def offline_register(
    *,
    actor,
    number: str,
    cancellation_type: str | None = None,
    scan: bytes | None,
    scan_name: str = "",
    received_via: str = "counter",
    applicant_name: str = "",
    new_domain_owner: bool = False,
    note: str = "",
    _internal: bool = False,
) -> Order:
    """A bureau records a paper cancellation application for a filing of its province."""
    if cancellation_type not in (None, "", "subject", "website"):
        raise Invalid(
            "bad_type",
            "注销类型只能是 subject（注销主体）或 website（注销网站）",
            "type is subject or website",
            field="type",
        )
    if received_via not in PAPER_CHANNELS and not (received_via == "shell_cleanup" and _internal):
        raise Invalid(
            "bad_channel",
            "递交方式只能是窗口递交、邮寄、管局系统在线申请",
            "received_via is counter, post or bureau_system",
            field="received_via",
        )
    if received_via not in RECEIVED_VIA:
        raise Invalid(
            "bad_channel",
            "递交方式只能是窗口递交、邮寄、管局系统在线申请",
            "received_via is counter, post or bureau_system",
            field="received_via",
        )
    filing = filing_lookup(number)
    subject = filing.subject
    if (
        not actor_may(Actor.BUREAU, actor, subject.province, subject.owner_id)
        or getattr(actor, "role", "") == "applicant"
    ):
        raise NotAllowed(
            "other_province",
            "只能登记本省管局的备案",
            "A bureau registers only filings of its own province",
            province=subject.province,
        )
    kind = (
        Kind.CANCEL_SUBJECT
        if (cancellation_type or ("subject" if filing.website is None else "website")) == "subject"
        else Kind.CANCEL_WEBSITE
    )
    if kind == Kind.CANCEL_WEBSITE and filing.website is None:
        raise Invalid(
            "website_number_required",
            "注销网站需要网站备案号（带 -n）",
            "Cancelling a website needs its website number (with -n)",
            field="number",
        )
    website = filing.website if kind == Kind.CANCEL_WEBSITE else None
    scan_info = store_scan(scan) if scan is not None else None
    if scan_info is None and received_via != "shell_cleanup":
        raise Invalid("scan_required", "请上传申请表扫描件", "Upload the scanned application", field="scan")
    with transaction.atomic():
        locked = common.lock_subject(subject.pk)
        guards.subject_active(locked)
        if website is not None:
            website = Website.objects.get(pk=website.pk)  # re-read under the subject lock
            guards.website_active(website)
        guards.no_open_order(locked, kind)
        order = common.create_order(
            kind=kind,
            subject=locked,
            website=website,
            actor=actor,
            payload={
                "offline": True,
                "received_via": received_via,
                "new_domain_owner": new_domain_owner,
                "acknowledge_irreversible": True,  # the signed paper form is the applicant's acknowledgement
                "stops_serving": [
                    d.name
                    for w in ([website] if website else locked.websites.filter(status="active"))
                    for d in w.domains.filter(status="active")
                    if w.served_here
                ],
                "reason": note[:500],
            },
            channel=Channel.OFFLINE,
            verification=Verification.NONE,
            action=Action.REGISTER_OFFLINE,
            note=f"{RECEIVED_VIA[received_via]}" + (f"：{note}" if note else ""),
        )
        OfflineApplication.objects.create(
            order=order,
            registered_by=actor,
            registered_at=clock.now(),
            received_via=received_via,
            applicant_name=applicant_name[:200],
            new_domain_owner=new_domain_owner,
            scan_sha256=scan_info[0] if scan_info else "",
            scan_type=scan_info[1] if scan_info else "",
            scan_name=scan_name[:200],
            scan_size=len(scan) if scan else 0,
        )
    return order


def shells_of_province(province: str) -> dict:
    now = clock.now()
    subjects = Subject.objects.filter(province=province, status=SubjectStatus.ACTIVE, is_shell=True).order_by(
        "shell_since"
    )
    websites = (
        Website.objects.filter(subject__province=province, status=WebsiteStatus.ACTIVE, is_shell=True)
        .select_related("subject")
        .order_by("shell_since")
    )
    return {
        "subjects": [
            {"subject": s, "days": (now - s.shell_since).days if s.shell_since else None} for s in subjects
        ],
        "websites": [
            {"website": w, "days": (now - w.shell_since).days if w.shell_since else None} for w in websites
        ],
    }


def shells_force_cancel(
    *, actor, subjects: list[int] = (), websites: list[int] = (), reason: str
) -> list[dict]:
    """空壳清理: cancel each shell through the engine (registered and approved by this bureau), audited."""
    reason = common.text("reason", reason, max_length=500, label="清理原因")
    results = []
    items = [("subject", pk) for pk in subjects] + [("website", pk) for pk in websites]
    for kind, pk in items:
        try:
            if kind == "subject":
                subject = Subject.objects.get(pk=pk)
                if not subject.is_shell:
                    raise Conflict(
                        "not_a_shell", "该主体不是空壳主体", "The subject is not a shell", subject=pk
                    )
                number = subject.number
            else:
                website = Website.objects.select_related("subject").get(pk=pk)
                if not website.is_shell:
                    raise Conflict(
                        "not_a_shell", "该网站不是空壳网站", "The website is not a shell", website=pk
                    )
                number = website.number
            with transaction.atomic():
                order = offline_register(
                    actor=actor,
                    number=number,
                    cancellation_type=kind,
                    scan=None,
                    received_via="shell_cleanup",
                    _internal=True,
                    note=reason,
                )
                move(order, Action.BUREAU_APPROVE, actor=actor, note=f"空壳清理：{reason}")
                audit_append(
                    actor=actor,
                    action="shell.force_cancel",
                    obj=order,
                    data={"number": number, "reason": reason},
                )
            results.append({"kind": kind, "id": pk, "number": number, "ok": True, "order": order.pk})
        except (Subject.DoesNotExist, Website.DoesNotExist):
            results.append({"kind": kind, "id": pk, "ok": False, "code": "not_found", "message": "不存在"})
        except ServiceError as exc:
            results.append({"kind": kind, "id": pk, "ok": False, "code": exc.code, "message": exc.message_zh})
    return results


FORMATS = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "pdf": "application/pdf",
}


def cancellation_form(
    *,
    number: str,
    fmt: str = "pdf",
    cancellation_type: str | None = None,
    new_owner_domain: str | None = None,
) -> tuple[bytes, str, str]:
    """The pre-filled 注销备案申请表 of an active filing: (content, content type, file name)."""
    from beian.offline.forms_document import form_data, render_docx, render_pdf
    from beian.rules import domains as domain_rules
    from beian.rules.errors import DomainError

    if fmt not in FORMATS:
        raise Invalid("bad_format", "格式只能是 docx 或 pdf", "format is docx or pdf", field="format")
    filing = filing_lookup(number)
    kind = cancellation_type or ("subject" if filing.website is None else "website")
    if kind not in ("subject", "website"):
        raise Invalid(
            "bad_type", "type 只能是 subject 或 website", "type is subject or website", field="type"
        )
    if kind == "website" and filing.website is None:
        raise Invalid(
            "website_number_required",
            "注销网站需要网站备案号（带 -n）",
            "Cancelling a website needs its website number (with -n)",
            field="number",
        )
    websites = (
        [filing.website]
        if kind == "website"
        else list(filing.subject.websites.filter(status=WebsiteStatus.ACTIVE).prefetch_related("domains"))
    )
    owner_domain = None
    if new_owner_domain:
        try:
            owner_domain = domain_rules.analyze(new_owner_domain).unicode
        except DomainError as exc:
            raise Invalid(exc.code, exc.message_zh, exc.message_en, field="new_owner_domain") from None
    data = form_data(
        subject=filing.subject,
        websites=websites,
        cancellation_type=kind,
        new_owner_domain=owner_domain,
        today=clock.today(),
    )
    content = render_docx(data) if fmt == "docx" else render_pdf(data)
    target = filing.website.number if kind == "website" else filing.subject.number
    return content, FORMATS[fmt], f"注销备案申请表-{target}.{fmt}"
