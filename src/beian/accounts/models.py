"""Accounts and roles: applicant (备案主体/申请人), provider reviewer (接入商初审), bureau reviewer of one
province (管局), admin; and API tokens (stored as SHA-256 digests, shown once)."""

from __future__ import annotations

import hashlib
import secrets

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q


class Role(models.TextChoices):
    APPLICANT = "applicant", "申请人"
    PROVIDER_REVIEWER = "provider_reviewer", "接入商审核员"
    BUREAU_REVIEWER = "bureau_reviewer", "管局审核员"
    ADMIN = "admin", "管理员"


class User(AbstractUser):
    role = models.CharField(max_length=32, choices=Role.choices, default=Role.APPLICANT)
    # GB/T 2260 code of the province a bureau reviewer works for; empty for everyone else.
    province = models.CharField(max_length=2, blank=True, default="")
    mobile = models.CharField(max_length=20, blank=True, default="")

    class Meta:
        db_table = "beian_user"
        constraints = [
            models.CheckConstraint(
                condition=Q(role="bureau_reviewer", province__regex=r"^[0-9]{2}$")
                | (~Q(role="bureau_reviewer") & Q(province="")),
                name="%(app_label)s_%(class)s_province_iff_bureau",
            ),
        ]

    @property
    def is_admin_role(self) -> bool:
        return self.role == Role.ADMIN or self.is_superuser

    @property
    def province_name(self) -> str:
        from beian.rules import provinces

        return provinces.by_code(self.province).name if self.province else ""


TOKEN_PREFIX = "bn_"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class ApiToken(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, blank=True, default="")
    key_digest = models.CharField(max_length=64, unique=True)
    key_hint = models.CharField(max_length=12)  # the first characters, to tell tokens apart
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "beian_api_token"

    def __str__(self) -> str:
        return f"{self.key_hint}… ({self.user})"

    @staticmethod
    def new_key() -> str:
        return TOKEN_PREFIX + secrets.token_urlsafe(32)
