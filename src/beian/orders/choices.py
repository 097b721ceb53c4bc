from django.db import models


class Kind(models.TextChoices):
    NEW_FILING = "new_filing", "首次备案"
    ADD_WEBSITE = "add_website", "新增网站"
    ADD_ACCESS = "add_access", "接入备案"
    CHANGE_SUBJECT = "change_subject", "变更主体"
    CHANGE_WEBSITE = "change_website", "变更网站"
    CANCEL_SUBJECT = "cancel_subject", "注销主体"
    CANCEL_WEBSITE = "cancel_website", "注销网站"
    CANCEL_ACCESS = "cancel_access", "取消接入"


KIND_EN = {
    Kind.NEW_FILING: "new filing",
    Kind.ADD_WEBSITE: "add website",
    Kind.ADD_ACCESS: "add access",
    Kind.CHANGE_SUBJECT: "change subject",
    Kind.CHANGE_WEBSITE: "change website",
    Kind.CANCEL_SUBJECT: "cancel subject",
    Kind.CANCEL_WEBSITE: "cancel website",
    Kind.CANCEL_ACCESS: "cancel access",
}


class State(models.TextChoices):
    PROVIDER_REVIEW = "provider_review", "待接入商初审"
    AWAITING_VERIFICATION = "awaiting_verification", "待短信核验"
    BUREAU_REVIEW = "bureau_review", "待管局审核"
    APPROVED = "approved", "审核通过"
    REJECTED = "rejected", "驳回"
    ABANDONED = "abandoned", "已放弃"
    EXPIRED = "expired", "已过期"

    @property
    def badge(self) -> str:
        return {
            "provider_review": "warn",
            "awaiting_verification": "warn",
            "bureau_review": "warn",
            "approved": "ok",
            "rejected": "bad",
            "abandoned": "muted",
            "expired": "muted",
        }[self.value]


STATE_EN = {
    State.PROVIDER_REVIEW: "awaiting provider review",
    State.AWAITING_VERIFICATION: "awaiting SMS verification",
    State.BUREAU_REVIEW: "awaiting bureau review",
    State.APPROVED: "approved",
    State.REJECTED: "rejected",
    State.ABANDONED: "abandoned",
    State.EXPIRED: "expired",
}

OPEN_STATES = (State.PROVIDER_REVIEW, State.AWAITING_VERIFICATION, State.BUREAU_REVIEW)
# The applicant may abandon (放弃) only before the order reaches the bureau; afterwards it must be waited out.
ABANDONABLE_STATES = (State.PROVIDER_REVIEW, State.AWAITING_VERIFICATION)
WEBSITE_KINDS = (
    Kind.ADD_WEBSITE,
    Kind.ADD_ACCESS,
    Kind.CHANGE_WEBSITE,
    Kind.CANCEL_WEBSITE,
    Kind.CANCEL_ACCESS,
)
CANCELLATION_KINDS = (Kind.CANCEL_SUBJECT, Kind.CANCEL_WEBSITE)


class Channel(models.TextChoices):
    ONLINE = "online", "线上"
    OFFLINE = "offline", "线下"


class Verification(models.TextChoices):
    NONE = "none", "无需核验"
    PASSWORD = "password", "备案密码"
    SMS = "sms", "短信核验"
