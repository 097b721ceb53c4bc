"""Every refusal of a submission, with its exact code, its context and a Chinese message naming the key fact."""

from __future__ import annotations

import pytest

from beian.core.errors import Conflict, Invalid, NotAllowed
from beian.orders import services
from beian.orders.choices import Kind, State
from beian.orders.models import Order
from beian.orders.workflow import Action, move
from beian.registry.models import Domain, Subject
from tests import factories as f

pytestmark = pytest.mark.django_db

WEBSITE = {
    "name": "测试网站",
    "responsible_name": "王五",
    "responsible_mobile": "13700000000",
    "responsible_email": "site@example.cn",
}


@pytest.fixture
def owner():
    return f.quick_user()


@pytest.fixture
def provider():
    return f.quick_user("provider_reviewer")


@pytest.fixture
def bureau():
    return f.quick_user("bureau_reviewer", "11")


def refused(exc_type, code, call, *args, **kwargs):
    """Call and return the raised error after checking its type and code; no order may be created."""
    before = Order.objects.count()
    with pytest.raises(exc_type) as err:
        call(*args, **kwargs)
    assert err.value.code == code, (err.value.code, err.value.message_zh)
    assert Order.objects.count() == before
    return err.value


# --- domains of a new website ----------------------------------------------------------------------


@pytest.mark.parametrize("domains", [["one-a.cn", "one-b.cn"], ["one-a.cn", "one-b.cn", "one-c.cn"], [], ""])
def test_new_website_carries_exactly_one_domain(owner, domains):
    err = refused(
        Invalid,
        "one_domain_per_website",
        services.new_filing_submit,
        actor=owner,
        **f.new_filing_args(domain=domains),
    )
    assert err.context["count"] == (len(domains) if isinstance(domains, list) else 0)
    assert "只能填写一个域名" in err.message_zh and "633号" in err.message_zh
    assert not Subject.objects.exists() and not Domain.objects.exists()


def test_add_website_carries_exactly_one_domain(owner):
    subject = f.filed_subject(owner, domains_per_site=(["two-base.cn"],))
    err = refused(
        Invalid,
        "one_domain_per_website",
        services.add_website_submit,
        actor=owner,
        subject=subject,
        website=WEBSITE,
        domain=["two-a.cn", "two-b.cn"],
    )
    assert err.context["count"] == 2


@pytest.mark.parametrize("domain", ["example.io", "www.example.me", "shop.example.biz"])
def test_unapproved_tld_cannot_be_filed(owner, domain):
    err = refused(
        Invalid,
        "tld_not_approved",
        services.new_filing_submit,
        actor=owner,
        **f.new_filing_args(domain=domain),
    )
    tld = domain.rsplit(".", 1)[1]
    assert err.context["tld"] == tld and f".{tld}" in err.message_zh and "未获工信部批准" in err.message_zh


def test_domain_filed_by_another_subject_names_the_filing_and_the_offline_route(owner):
    holder = f.filed_subject(f.quick_user(), province_abbr="粤", domains_per_site=(["taken.cn"],))
    number = holder.websites.get().number
    err = refused(
        Conflict,
        "domain_already_filed",
        services.new_filing_submit,
        actor=owner,
        **f.new_filing_args(domain="taken.cn"),
    )
    assert err.context["filing_number"] == number
    assert err.context["province"] == "44"
    assert err.context["offline_channel"] == "form_download"
    assert err.context["offline_guide"] == "/provinces/44"
    assert err.context["pending"] is False and err.context["same_subject"] is False
    assert number in err.message_zh and "广东省通信管理局" in err.message_zh and "线下注销" in err.message_zh


def test_domain_held_by_a_pending_order_is_refused(owner):
    services.new_filing_submit(actor=f.quick_user(), **f.new_filing_args(domain="pending.cn"))
    err = refused(
        Conflict,
        "domain_already_filed",
        services.new_filing_submit,
        actor=owner,
        **f.new_filing_args(domain="pending.cn"),
    )
    assert err.context["pending"] is True
    assert "pending.cn" in err.message_zh and "正在另一个备案订单中申请" in err.message_zh


def test_domain_on_own_subject_is_refused_for_add_website(owner):
    subject = f.filed_subject(owner, domains_per_site=(["mine.cn"],))
    err = refused(
        Conflict,
        "domain_already_filed",
        services.add_website_submit,
        actor=owner,
        subject=subject,
        website=WEBSITE,
        domain="www.mine.cn",
    )
    assert err.context["same_subject"] is True and "您的主体" in err.message_zh


@pytest.mark.parametrize(
    ("filed", "asked"),
    [
        ("x-sub.cn", "www.x-sub.cn"),
        ("x-sub.cn", "shop.x-sub.cn"),
        ("x-sub.cn", "WWW.X-Sub.CN."),
        ("www.y-sub.cn", "y-sub.cn"),
        ("例子.中国", "www.xn--fsqu00a.xn--fiqs8s"),
    ],
)
def test_subdomain_conflicts_with_its_registrable_domain(owner, filed, asked):
    f.filed_subject(f.quick_user(), domains_per_site=([filed],))
    err = refused(
        Conflict,
        "domain_already_filed",
        services.new_filing_submit,
        actor=owner,
        **f.new_filing_args(domain=asked),
    )
    assert err.context["domain"] == Domain.objects.get(status="active").name


# --- changes ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes", [{"domains": ["add-new.cn"]}, {"add_domains": ["add-new.cn"]}, {"domain": "add-new.cn"}]
)
def test_change_website_cannot_add_domains(owner, changes):
    subject = f.filed_subject(owner, domains_per_site=(["add-a.cn", "add-b.cn"],))
    err = refused(
        Invalid,
        "cannot_add_domain",
        services.change_website_submit,
        actor=owner,
        website=subject.websites.get(),
        changes=changes,
    )
    assert "只能删除域名" in err.message_zh
    assert not Domain.objects.filter(name="add-new.cn").exists()


@pytest.mark.parametrize(
    ("domains", "remove"),
    [(["last.cn"], ["last.cn"]), (["last-a.cn", "last-b.cn"], ["last-a.cn", "www.last-b.cn"])],
)
def test_change_website_cannot_remove_the_last_domain(owner, domains, remove):
    site = f.filed_subject(owner, domains_per_site=(domains,)).websites.get()
    err = refused(
        Conflict,
        "last_domain",
        services.change_website_submit,
        actor=owner,
        website=site,
        remove_domains=remove,
    )
    assert (
        err.context["way_out"] == "cancel_website"
        and "最后一个域名" in err.message_zh
        and "注销网站" in err.message_zh
    )


def test_removing_an_unapproved_tld_domain_needs_acknowledgement(owner, provider, bureau):
    site = f.filed_subject(owner, domains_per_site=(["keep.cn", "legacy.io"],)).websites.get()
    err = refused(
        Invalid,
        "irreversible_confirmation_required",
        services.change_website_submit,
        actor=owner,
        website=site,
        remove_domains=["legacy.io"],
    )
    assert err.context["domains"] == ["legacy.io"]
    assert "legacy.io" in err.message_zh and "永远不能再备案" in err.message_zh
    order = services.change_website_submit(
        actor=owner, website=site, remove_domains=["legacy.io"], acknowledge_irreversible=True
    )
    assert order.payload["acknowledge_irreversible"] is True
    move(move(order, Action.PROVIDER_APPROVE, actor=provider), Action.BUREAU_APPROVE, actor=bureau)
    assert Domain.objects.get(name="legacy.io").status == "released"
    assert Domain.objects.get(name="keep.cn").status == "active"


@pytest.mark.parametrize("kind", [Kind.CANCEL_WEBSITE, Kind.CANCEL_SUBJECT])
def test_cancelling_an_unapproved_tld_domain_needs_acknowledgement(owner, kind):
    subject = f.filed_subject(owner, domains_per_site=(["gone.io"],))
    call, target = (
        (services.cancel_website_submit, {"website": subject.websites.get()})
        if kind == Kind.CANCEL_WEBSITE
        else (services.cancel_subject_submit, {"subject": subject})
    )
    err = refused(
        Invalid, "irreversible_confirmation_required", call, actor=owner, password="wrong-password", **target
    )
    assert err.context["domains"] == ["gone.io"] and "gone.io" in err.message_zh
    assert Subject.objects.get(pk=subject.pk).password_failures == 0  # refused before a guess is spent
    order = call(actor=owner, password=f.PASSWORD, acknowledge_irreversible=True, **target)
    assert order.state == State.BUREAU_REVIEW and order.payload["acknowledge_irreversible"] is True


@pytest.mark.parametrize(
    ("field", "value", "label"),
    [
        ("province", "44", "省份"),
        ("certificate_number", "91110000000000000X", "证件号码"),
        ("certificate_type", "resident_id", "证件类型"),
        ("nature", "individual", "主办单位性质"),
    ],
)
def test_change_subject_cannot_touch_fixed_fields(owner, field, value, label):
    subject = f.filed_subject(owner, domains_per_site=(["fixed.cn"],))
    err = refused(
        Invalid,
        "immutable_field",
        services.change_subject_submit,
        actor=owner,
        subject=subject,
        changes={"name": "新名称", field: value},
    )
    assert err.context["field"] == field and label in err.message_zh and "不能变更" in err.message_zh
    fresh = Subject.objects.get(pk=subject.pk)
    assert getattr(fresh, field) == getattr(subject, field) and fresh.name == subject.name


# --- one order at a time ---------------------------------------------------------------------------


def attempt(kind: Kind, actor, subject, served, unserved, password=f.PASSWORD):
    """Submit ``kind`` on the subject (``served``/``unserved``: a website served here / not served here)."""
    if kind == Kind.ADD_WEBSITE:
        return services.add_website_submit(
            actor=actor, subject=subject, website=WEBSITE, domain="another-site.cn"
        )
    if kind == Kind.ADD_ACCESS:
        return services.add_access_submit(actor=actor, website=unserved)
    if kind == Kind.CHANGE_SUBJECT:
        return services.change_subject_submit(actor=actor, subject=subject, changes={"name": "又一个名称"})
    if kind == Kind.CHANGE_WEBSITE:
        return services.change_website_submit(actor=actor, website=served, changes={"name": "又一个网站名"})
    if kind == Kind.CANCEL_SUBJECT:
        return services.cancel_subject_submit(actor=actor, subject=subject, password=password)
    if kind == Kind.CANCEL_WEBSITE:
        return services.cancel_website_submit(actor=actor, website=served, password=password)
    if kind == Kind.CANCEL_ACCESS:
        return services.cancel_access_submit(actor=actor, website=served)
    raise AssertionError(kind)


EXISTING_SUBJECT_KINDS = [k for k in Kind if k != Kind.NEW_FILING]


@pytest.fixture
def two_sites(owner):
    subject = f.filed_subject_sites(
        owner, [{"domains": ["busy-a.cn"]}, {"domains": ["busy-b.cn"], "served": False}]
    )
    served, unserved = subject.websites.order_by("sequence")
    return subject, served, unserved


@pytest.mark.parametrize("blocking_kind", [Kind.CHANGE_SUBJECT, Kind.CANCEL_ACCESS])
def test_open_order_in_provider_review_blocks_every_kind(owner, two_sites, blocking_kind):
    subject, served, unserved = two_sites
    blocking = attempt(blocking_kind, owner, subject, served, unserved)
    assert blocking.state == State.PROVIDER_REVIEW
    for kind in EXISTING_SUBJECT_KINDS:
        err = refused(
            Conflict,
            "order_in_progress",
            attempt,
            kind,
            owner,
            subject,
            served,
            unserved,
            password="wrong-guess",
        )
        assert err.context["blocking_order"] == blocking.pk and err.context["abandonable"] is True, kind
        assert f"#{blocking.pk}" in err.message_zh and "放弃该订单" in err.message_zh, kind
    assert Subject.objects.get(pk=subject.pk).password_failures == 0


def test_open_order_at_the_bureau_blocks_every_kind_and_cannot_be_abandoned(owner, two_sites):
    subject, served, unserved = two_sites
    blocking = attempt(Kind.CANCEL_WEBSITE, owner, subject, served, unserved)
    assert blocking.state == State.BUREAU_REVIEW
    for kind in EXISTING_SUBJECT_KINDS:
        err = refused(Conflict, "order_in_progress", attempt, kind, owner, subject, served, unserved)
        assert err.context["blocking_order"] == blocking.pk and err.context["abandonable"] is False, kind
        assert "不能放弃" in err.message_zh and "放弃该订单" not in err.message_zh, kind
        assert err.context["blocking_state"] == "bureau_review"


def test_abandoning_the_blocking_order_unblocks(owner, two_sites):
    subject, served, unserved = two_sites
    blocking = attempt(Kind.CHANGE_SUBJECT, owner, subject, served, unserved)
    move(blocking, Action.ABANDON, actor=owner)
    assert attempt(Kind.CANCEL_WEBSITE, owner, subject, served, unserved).state == State.BUREAU_REVIEW


def test_second_new_filing_with_the_same_certificate(owner, provider, bureau):
    args = f.new_filing_args(domain="cert-a.cn")
    first = services.new_filing_submit(actor=owner, **args)
    err = refused(
        Conflict,
        "certificate_in_use",
        services.new_filing_submit,
        actor=owner,
        **{**args, "domain": "cert-b.cn"},
    )
    assert "新增网站" in err.message_zh
    move(move(first, Action.PROVIDER_APPROVE, actor=provider), Action.BUREAU_APPROVE, actor=bureau)
    refused(
        Conflict,
        "certificate_in_use",
        services.new_filing_submit,
        actor=f.quick_user(),
        **{**args, "domain": "cert-b.cn"},
    )
    assert not Domain.objects.filter(name="cert-b.cn").exists()


# --- shells ----------------------------------------------------------------------------------------


def test_shell_subject_is_cancelled_offline(owner):
    subject = f.filed_subject(owner, domains_per_site=())
    assert subject.is_shell
    err = refused(
        Conflict,
        "shell_subject_offline",
        services.cancel_subject_submit,
        actor=owner,
        subject=subject,
        password=f.PASSWORD,
    )
    assert err.context["province"] == "11" and err.context["offline_channel"] == "form_download"
    assert err.context["offline_guide"] == "/provinces/11"
    assert (
        "空壳主体" in err.message_zh and "北京市通信管理局" in err.message_zh and "线下注销" in err.message_zh
    )


def test_subject_that_became_a_shell_is_cancelled_offline(owner, bureau):
    subject = f.filed_subject(owner, domains_per_site=(["last-site.cn"],))
    order = services.cancel_website_submit(actor=owner, website=subject.websites.get(), password=f.PASSWORD)
    move(order, Action.BUREAU_APPROVE, actor=bureau)
    refused(
        Conflict,
        "shell_subject_offline",
        services.cancel_subject_submit,
        actor=owner,
        subject=subject,
        password=f.PASSWORD,
    )


def test_shell_subject_in_guangdong_must_be_cancelled_first(owner):
    subject = f.filed_subject(owner, province_abbr="粤", domains_per_site=())
    err = refused(
        Conflict,
        "shell_must_cancel_first",
        services.add_website_submit,
        actor=owner,
        subject=subject,
        website=WEBSITE,
        domain="gd-new.cn",
    )
    assert err.context["province"] == "44" and "广东省" in err.message_zh and "空壳主体" in err.message_zh
    assert not Domain.objects.filter(name="gd-new.cn").exists()


def test_shell_subject_in_beijing_may_add_a_website(owner, provider, bureau):
    subject = f.filed_subject(owner, domains_per_site=())
    order = services.add_website_submit(actor=owner, subject=subject, website=WEBSITE, domain="bj-new.cn")
    assert order.state == State.PROVIDER_REVIEW
    move(move(order, Action.PROVIDER_APPROVE, actor=provider), Action.BUREAU_APPROVE, actor=bureau)
    subject.refresh_from_db()
    assert not subject.is_shell and subject.websites.get(number=f"{subject.number}-1").status == "active"


@pytest.mark.parametrize("kind", [Kind.CANCEL_WEBSITE, Kind.CHANGE_WEBSITE, Kind.CANCEL_ACCESS])
def test_website_not_served_here(owner, kind):
    subject = f.filed_subject(owner, domains_per_site=(["elsewhere.cn"],), served=False)
    site = subject.websites.get()
    err = refused(Conflict, "website_not_served_here", attempt, kind, owner, subject, site, site)
    assert "未接入本服务商" in err.message_zh and err.context["website"] == site.pk


def test_add_access_of_a_website_already_served_here(owner):
    subject = f.filed_subject(owner, domains_per_site=(["here.cn"],))
    refused(
        Conflict,
        "already_served_here",
        services.add_access_submit,
        actor=owner,
        website=subject.websites.get(),
    )


@pytest.mark.parametrize("kind", EXISTING_SUBJECT_KINDS, ids=str)
def test_only_the_owner_may_submit(owner, two_sites, kind):
    subject, served, unserved = two_sites
    stranger = f.quick_user()
    err = refused(NotAllowed, "not_owner", attempt, kind, stranger, subject, served, unserved)
    assert err.status == 403 and "申请人" in err.message_zh
    assert Subject.objects.get(pk=subject.pk).password_failures == 0
