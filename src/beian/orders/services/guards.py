"""Who may start which order, and why not: one list of guards per order kind.

Services call ``require`` under the subject lock before they submit; the ``subject_actions`` selector
calls ``availability`` to tell the applicant, for every action, whether it is available and if not why and
what to do. Both read the same guards, so a page never offers what the service would refuse, nor hides
what it would accept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from beian.core.errors import Conflict, NotAllowed, ServiceError
from beian.orders.choices import KIND_EN, STATE_EN, Kind, State
from beian.orders.models import Order
from beian.orders.selectors import open_order_of
from beian.orders.workflow import Actor, actor_may
from beian.registry.choices import SubjectStatus, WebsiteStatus
from beian.registry.models import Subject, Website
from beian.rules import provinces

CANCELLING = (Kind.CANCEL_SUBJECT, Kind.CANCEL_WEBSITE, Kind.CANCEL_ACCESS)


def filer(actor) -> None:
    """首次备案 makes the filer the new subject's owner: only an applicant (or an admin) files. A reviewer
    filing would own a subject it then reviews (and would see it in no applicant's list)."""
    if actor is None or not (actor.is_admin_role or actor.role == "applicant"):
        raise NotAllowed("not_applicant", "只有申请人可以办理首次备案", "Only an applicant can file")


def applicant(subject: Subject, actor) -> None:
    if not actor_may(Actor.APPLICANT, actor, subject.province, subject.owner_id):
        raise NotAllowed(
            "not_owner", "只有该主体的申请人可以办理", "Only the subject's applicant can do this"
        )


def subject_active(subject: Subject) -> None:
    if subject.status != SubjectStatus.ACTIVE:
        raise Conflict(
            "subject_not_active",
            f"该主体{SubjectStatus(subject.status).label}，不能办理此业务",
            f"The subject is {subject.status}: this is not possible",
            subject=subject.pk,
        )


def order_in_progress(blocking: Order, *, intent: Kind | None = None) -> Conflict:
    kind, state = Kind(blocking.kind), State(blocking.state)
    verb_zh = "注销" if intent in CANCELLING else "办理"
    verb_en = "cancel" if intent in CANCELLING else "go on"
    abandonable = state in (State.PROVIDER_REVIEW, State.AWAITING_VERIFICATION)
    if abandonable:
        way_zh = f"放弃该订单，或等待管局审核完成后再{verb_zh}"
        way_en = f"abandon it, or wait until the bureau has decided, then {verb_en}"
    else:
        eta = f"（预计 {blocking.eta:%Y-%m-%d}）" if blocking.eta else ""
        way_zh = f"该订单已提交管局，不能放弃，请等待管局审核完成{eta}后再{verb_zh}"
        way_en = f"it is at the bureau and can no longer be abandoned: wait for the decision{f' (expected {blocking.eta:%Y-%m-%d})' if blocking.eta else ''}, then {verb_en}"
    return Conflict(
        "order_in_progress",
        f"该主体有进行中的订单 #{blocking.pk}（{kind.label}，{state.label}）：{way_zh}",
        f"The subject has an order in progress, #{blocking.pk} ({KIND_EN[kind]}, {STATE_EN[state]}): {way_en}",
        blocking_order=blocking.pk,
        blocking_kind=blocking.kind,
        blocking_state=blocking.state,
        abandonable=abandonable,
        eta=blocking.eta.isoformat() if blocking.eta else None,
    )


def no_open_order(subject: Subject, intent: Kind | None = None) -> None:
    blocking = open_order_of(subject)
    if blocking is not None:
        raise order_in_progress(blocking, intent=intent)


def shell_subject_offline(subject: Subject) -> Conflict:
    prov = provinces.by_code(subject.province)
    return Conflict(
        "shell_subject_offline",
        f"该主体已无网站（空壳主体），没有接入商，不能在线注销；请向{prov.bureau}申请线下注销（{prov.offline_channel.label_zh}）",
        f"The subject has no website left (a shell subject) and no provider: apply to the {prov.bureau_en} for an "
        f"offline cancellation ({prov.offline_channel.label_en})",
        subject=subject.pk,
        province=prov.code,
        offline_channel=prov.offline_channel.value,
        offline_guide=f"/provinces/{prov.code}",
    )


def not_shell(subject: Subject) -> None:
    if subject.is_shell or not subject.websites.filter(status=WebsiteStatus.ACTIVE).exists():
        raise shell_subject_offline(subject)
    if not subject.websites.filter(status=WebsiteStatus.ACTIVE, served_here=True).exists():
        prov = provinces.by_code(subject.province)
        raise Conflict(
            "no_website_served_here",
            f"该主体的网站均未接入本服务商，本服务商不能为其在线注销主体：请先办理接入备案，或向{prov.bureau}申请线下注销",
            f"None of the subject's websites is served by this provider, so it cannot cancel the subject online: "
            f"add access here first, or apply to the {prov.bureau_en} for an offline cancellation",
            subject=subject.pk,
            province=prov.code,
            offline_channel=prov.offline_channel.value,
            offline_guide=f"/provinces/{prov.code}",
        )


def shell_may_add_website(subject: Subject) -> None:
    prov = provinces.by_code(subject.province)
    if subject.is_shell and not prov.shell_subject_may_add_website:
        raise Conflict(
            "shell_must_cancel_first",
            f"该主体为空壳主体；{prov.name}不允许空壳主体直接新增网站，请先向{prov.bureau}申请注销主体（线下注销），再重新首次备案",
            f"The subject is a shell; in {prov.name_en} a shell subject cannot add a website: have the "
            f"{prov.bureau_en} cancel it (offline) first, then file anew",
            province=prov.code,
            offline_channel=prov.offline_channel.value,
            offline_guide=f"/provinces/{prov.code}",
        )


def website_active(site: Website) -> None:
    if site.status != WebsiteStatus.ACTIVE:
        raise Conflict(
            "website_not_active",
            f"该网站{WebsiteStatus(site.status).label}，不能办理此业务",
            f"The website is {site.status}: this is not possible",
            website=site.pk,
        )


def website_served_here(site: Website) -> None:
    if not site.served_here:
        prov = provinces.by_code(site.subject.province)
        raise Conflict(
            "website_not_served_here",
            f"该网站未接入本服务商（空壳网站）：可先办理接入备案，或向{prov.bureau}申请线下注销",
            f"The website is not served by this provider (a shell website): add access here first, or apply to the "
            f"{prov.bureau_en} for an offline cancellation",
            website=site.pk,
            province=prov.code,
            offline_guide=f"/provinces/{prov.code}",
        )


def website_not_served_here(site: Website) -> None:
    if site.served_here:
        raise Conflict(
            "already_served_here",
            "该网站已接入本服务商",
            "The website is already served here",
            website=site.pk,
        )


Guard = Callable[[], None]


def guards_for(kind: Kind, subject: Subject, website: Website | None, actor) -> list[Guard]:
    """The checks that must pass before ``kind`` may be submitted, in the order the applicant should meet them."""
    subject_checks: list[Guard] = [lambda: applicant(subject, actor), lambda: subject_active(subject)]
    if kind == Kind.CANCEL_SUBJECT:
        return [*subject_checks, lambda: no_open_order(subject, kind), lambda: not_shell(subject)]
    if kind == Kind.ADD_WEBSITE:
        return [*subject_checks, lambda: no_open_order(subject, kind), lambda: shell_may_add_website(subject)]
    if kind == Kind.CHANGE_SUBJECT:
        return [*subject_checks, lambda: no_open_order(subject, kind)]
    assert website is not None
    site_checks = [*subject_checks, lambda: website_active(website)]
    if kind == Kind.ADD_ACCESS:
        return [*site_checks, lambda: website_not_served_here(website), lambda: no_open_order(subject, kind)]
    if kind in (Kind.CANCEL_WEBSITE, Kind.CHANGE_WEBSITE, Kind.CANCEL_ACCESS):
        return [*site_checks, lambda: website_served_here(website), lambda: no_open_order(subject, kind)]
    raise ValueError(f"no guards for {kind}")


def require(kind: Kind, subject: Subject, website: Website | None, actor) -> None:
    for guard in guards_for(kind, subject, website, actor):
        guard()


@dataclass(frozen=True)
class Availability:
    allowed: bool
    reason: str | None = None
    message: str | None = None
    message_en: str | None = None
    blocking_order: int | None = None
    context: dict | None = None
    status: int = 200  # the HTTP status of the refusal: 403 not the applicant's, 409 a conflict


def availability(kind: Kind, subject: Subject, website: Website | None, actor) -> Availability:
    try:
        require(kind, subject, website, actor)
    except ServiceError as exc:
        return Availability(
            False,
            exc.code,
            exc.message_zh,
            exc.message_en,
            exc.context.get("blocking_order"),
            exc.context,
            exc.status,
        )
    return Availability(True)
