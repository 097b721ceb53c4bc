"""The seed's journeys through the engine: cancel a website, then the domain can be filed again."""

from __future__ import annotations

import pytest

from beian.audit.services import audit_verify
from beian.core.errors import Conflict, NotAllowed
from beian.gate.services import served_set_from_feed
from beian.orders import services
from beian.orders.workflow import Action, move
from beian.registry.models import Domain
from tests import factories as f

pytestmark = pytest.mark.django_db


def served_in_db() -> set[str]:
    return set(
        Domain.objects.filter(
            status="active", website__status="active", website__served_here=True
        ).values_list("name", flat=True)
    )


def test_cancel_website_frees_domain_for_another_applicant():
    owner, other = f.user(), f.user()
    bureau = f.user(role="bureau_reviewer", province="11")
    provider = f.user(role="provider_reviewer")
    subject = f.filed_subject(owner, domains_per_site=(["shop-one.cn"], ["shop-two.cn"]))
    site = subject.websites.get(sequence=1)

    with pytest.raises(NotAllowed) as wrong:
        services.cancel_website_submit(actor=owner, website=site, password="wrong")
    assert wrong.value.code == "wrong_filing_password" and wrong.value.context["attempts_remaining"] == 4

    order = services.cancel_website_submit(actor=owner, website=site, password=f.PASSWORD)
    assert order.state == "bureau_review" and order.eta is not None

    with pytest.raises(Conflict) as blocked:
        services.new_filing_submit(actor=other, **f.new_filing_args(domain="www.shop-one.cn"))
    assert blocked.value.code == "domain_already_filed"
    assert blocked.value.context["filing_number"] == site.number

    move(order, Action.BUREAU_APPROVE, actor=bureau)
    site.refresh_from_db()
    assert site.status == "cancelled"
    assert "shop-one.cn" not in served_set_from_feed()

    filing = services.new_filing_submit(actor=other, **f.new_filing_args(domain="shop-one.cn"))
    move(filing, Action.PROVIDER_APPROVE, actor=provider)
    filing = move(filing, Action.BUREAU_APPROVE, actor=bureau)
    filing.subject.refresh_from_db()
    assert filing.subject.number.startswith("京ICP备")
    assert "shop-one.cn" in served_set_from_feed()
    assert served_set_from_feed() == served_in_db()
    assert audit_verify().ok
