from django.db import models


class SubjectStatus(models.TextChoices):
    PENDING = "pending", "审核中"  # 首次备案 in progress: no number yet
    ACTIVE = "active", "已备案"
    CANCELLED = "cancelled", "已注销"  # number retired for good
    WITHDRAWN = "withdrawn", "未通过"  # 首次备案 rejected, abandoned or expired: never had a number

    @property
    def badge(self) -> str:
        return {"pending": "warn", "active": "ok", "cancelled": "bad", "withdrawn": "muted"}[self.value]


class WebsiteStatus(models.TextChoices):
    PENDING = "pending", "审核中"
    ACTIVE = "active", "已备案"
    CANCELLED = "cancelled", "已注销"
    WITHDRAWN = "withdrawn", "未通过"

    @property
    def badge(self) -> str:
        return SubjectStatus(self.value).badge


class DomainStatus(models.TextChoices):
    RESERVED = "reserved", "申请中"  # held by an order in progress: nobody else can file it meanwhile
    ACTIVE = "active", "已备案"
    RELEASED = "released", "已释放"  # free to be filed again


HELD_DOMAIN_STATES = (DomainStatus.RESERVED, DomainStatus.ACTIVE)
LIVE_SUBJECT_STATES = (SubjectStatus.PENDING, SubjectStatus.ACTIVE)
