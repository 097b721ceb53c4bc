"""The registry: subjects (主体), websites (网站) and their domains (域名).

Invariants held by the database first (named constraints), the services second:
- a domain name is reserved-or-active at most once nationwide;
- subject and website numbers are unique and never reused (cancelled rows keep theirs);
- a certificate has at most one live subject (pending or active);
- a website's sequence ``n`` is unique under its subject.
A subject's province and certificate number never change: no service writes them after creation.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from beian.registry.choices import DomainStatus, SubjectStatus, WebsiteStatus
from beian.rules import domains as domain_rules
from beian.rules import natures, provinces


class Subject(models.Model):
    """备案主体 / 主办单位."""

    number = models.CharField(max_length=40, null=True, blank=True, unique=True)  # 主体备案号, on approval
    province = models.CharField(max_length=2)  # GB/T 2260; fixed
    nature = models.CharField(max_length=40)  # rules.natures slug
    name = models.CharField(max_length=200)
    # registry.search.spaced(name): the bigram name index
    name_chars = models.TextField(blank=True, default="")
    certificate_type = models.CharField(max_length=60)
    certificate_number = models.CharField(max_length=64)  # fixed
    address = models.CharField(max_length=300, blank=True, default="")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="subjects")
    responsible_name = models.CharField(max_length=100)
    responsible_mobile = models.CharField(max_length=20)
    responsible_email = models.EmailField(max_length=200)
    responsible_certificate_type = models.CharField(max_length=60, blank=True, default="")
    responsible_certificate_number = models.CharField(max_length=64, blank=True, default="")
    status = models.CharField(max_length=16, choices=SubjectStatus.choices, default=SubjectStatus.PENDING)
    website_counter = models.PositiveIntegerField(default=0)  # last website sequence issued; never goes back
    is_shell = models.BooleanField(default=False)  # 空壳主体: active with no active website
    shell_since = models.DateTimeField(null=True, blank=True)
    # 备案密码: argon2id hash only, with the lockout state (see orders.verification)
    filing_password_hash = models.CharField(max_length=200, blank=True, default="")
    password_failures = models.PositiveSmallIntegerField(default=0)
    password_locked_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "beian_subject"
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["certificate_type", "certificate_number"],
                condition=Q(status__in=["pending", "active"]),
                name="%(app_label)s_%(class)s_unique_live_certificate",
            ),
            models.CheckConstraint(
                condition=Q(number__isnull=False) | Q(status__in=["pending", "withdrawn"]),
                name="%(app_label)s_%(class)s_number_when_filed",
            ),
            models.CheckConstraint(
                condition=Q(province__regex=r"^[0-9]{2}$"), name="%(app_label)s_%(class)s_province_code"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number or '（待分配）'} {self.name}"

    @property
    def province_info(self) -> provinces.Province:
        return provinces.by_code(self.province)

    @property
    def nature_info(self) -> natures.Nature:
        return natures.nature(self.nature)

    @property
    def certificate_type_name(self) -> str:
        return natures.certificate_type(self.certificate_type).name

    @property
    def status_badge(self) -> str:
        return SubjectStatus(self.status).badge


class Website(models.Model):
    """网站 (or App / 小程序 / 快应用): one number ``-n`` under its subject."""

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="websites")
    sequence = models.PositiveIntegerField(null=True, blank=True)  # n of -n, on approval
    number = models.CharField(max_length=48, null=True, blank=True, unique=True)
    name = models.CharField(max_length=200)
    homepage = models.CharField(max_length=300, blank=True, default="")
    content_type = models.CharField(max_length=100, blank=True, default="")  # 内容类型 / 前置审批
    service_type = models.CharField(max_length=20, default="website")
    responsible_name = models.CharField(max_length=100)
    responsible_mobile = models.CharField(max_length=20)
    responsible_email = models.EmailField(max_length=200)
    status = models.CharField(max_length=16, choices=WebsiteStatus.choices, default=WebsiteStatus.PENDING)
    served_here = models.BooleanField(default=False)  # 接入: this provider serves it
    is_shell = models.BooleanField(default=False)  # 空壳网站: filed, served by no provider
    shell_since = models.DateTimeField(null=True, blank=True)
    limit_access = models.BooleanField(default=False)  # 是否限制接入 (public query field)
    created_at = models.DateTimeField(auto_now_add=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "beian_website"
        ordering = ["subject_id", "sequence", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["subject", "sequence"], name="%(app_label)s_%(class)s_unique_sequence"
            ),
            models.CheckConstraint(
                condition=Q(number__isnull=False) | Q(status__in=["pending", "withdrawn"]),
                name="%(app_label)s_%(class)s_number_when_filed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number or '（待分配）'} {self.name}"

    @property
    def status_badge(self) -> str:
        return WebsiteStatus(self.status).badge


class Domain(models.Model):
    """A website's domain, stored as its A-label; the U-label is kept for display."""

    website = models.ForeignKey(Website, on_delete=models.PROTECT, related_name="domains")
    name = models.CharField(max_length=253)  # A-label, the name a filing covers (rules.domains.filing_name)
    unicode = models.CharField(max_length=253)
    status = models.CharField(max_length=16, choices=DomainStatus.choices, default=DomainStatus.RESERVED)
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "beian_domain"
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["name"],
                condition=Q(status__in=["reserved", "active"]),
                name="%(app_label)s_%(class)s_unique_held_name",
            ),
        ]
        indexes = [models.Index(fields=["name"], name="registry_domain_name_idx")]

    def __str__(self) -> str:
        return self.unicode

    @property
    def tld_approved(self) -> bool:
        return self.name.rsplit(".", 1)[-1] in domain_rules.approved_tlds()


class PasswordResetToken(models.Model):
    """A one-time link to set a new filing password (找回备案密码): stored as a digest, valid 30 minutes."""

    subject = models.ForeignKey(Subject, on_delete=models.CASCADE, related_name="password_reset_tokens")
    token_digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True)

    class Meta:
        db_table = "beian_password_reset_token"

    def __str__(self) -> str:
        return f"reset token for subject {self.subject_id} ({'used' if self.used_at else 'unused'})"
