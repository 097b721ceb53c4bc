"""Shared fixtures of the security suite.

``world``: one user of every role (with an API token) and a small registry in realistic states, so that
probes reach real objects: idle subjects, a subject with an open order at the provider and one at the
bureau, a shell subject, a shell website, a pending new filing and a closed order.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from beian.accounts.services import token_create, user_create
from beian.orders import services
from beian.orders.workflow import Action, move
from tests import factories as f

ROLES = ("anonymous", "applicant", "provider", "bureau", "admin")


@dataclass
class World:
    users: dict = field(default_factory=dict)  # role -> User (None for anonymous)
    tokens: dict = field(default_factory=dict)  # role -> Bearer token (None for anonymous)
    subjects: list[int] = field(default_factory=list)
    websites: list[int] = field(default_factory=list)
    orders: list[int] = field(default_factory=list)
    numbers: list[str] = field(default_factory=list)  # filing numbers: subjects and websites

    def headers(self, role: str) -> dict[str, str]:
        token = self.tokens[role]
        return {"Authorization": f"Bearer {token}"} if token else {}


@pytest.fixture
def world(db) -> World:
    w = World()
    applicant = f.quick_user()
    other = f.quick_user()
    w.users = {
        "anonymous": None,
        "applicant": applicant,
        "provider": f.quick_user(role="provider_reviewer"),
        "bureau": f.quick_user(role="bureau_reviewer", province="11"),
        "admin": user_create(username=f"admin-{applicant.pk}", password=None, role="admin"),
    }
    w.tokens = {role: token_create(user=u, name="security") if u else None for role, u in w.users.items()}

    # The applicant's Beijing subject: an open 变更网站 at the provider (one domain on the unapproved .io).
    busy = f.filed_subject(applicant, domains_per_site=(["sec-alpha.cn", "sec-alpha.io"], ["sec-docs.cn"]))
    change = services.change_website_submit(
        actor=applicant, website=busy.websites.get(sequence=2), changes={"name": "文档站"}
    )
    # A second one with a 注销网站 at the bureau (cancellations skip the provider).
    leaving = f.filed_subject(applicant, domains_per_site=(["sec-old.cn"], ["sec-keep.cn"]))
    cancel = services.cancel_website_submit(
        actor=applicant, website=leaving.websites.get(sequence=1), password=f.PASSWORD
    )
    # An idle Guangdong subject with a website not served here (接入备案 possible), and a shell subject.
    idle = f.filed_subject(applicant, province_abbr="粤", domains_per_site=(["sec-gd.com"],), served=False)
    shell = f.filed_subject(applicant, domains_per_site=())
    # A pending 首次备案 at the provider.
    filing = services.new_filing_submit(actor=applicant, **f.new_filing_args(domain="sec-new.cn"))
    # Someone else's subject: its website left this provider (a shell website), the order closed.
    theirs = f.filed_subject(other, domains_per_site=(["sec-theirs.cn"], ["sec-theirs2.cn"]))
    access = services.cancel_access_submit(actor=other, website=theirs.websites.get(sequence=1))
    move(access, Action.PROVIDER_APPROVE, actor=w.users["provider"])

    subjects = [busy, leaving, idle, shell, theirs, filing.subject]
    w.subjects = [s.pk for s in subjects]
    w.websites = [site.pk for s in subjects for site in s.websites.order_by("id")]
    w.orders = [change.pk, cancel.pk, filing.pk, access.pk]
    w.numbers = [s.number for s in subjects if s.number] + [
        site.number for s in subjects for site in s.websites.all() if site.number
    ]
    return w
