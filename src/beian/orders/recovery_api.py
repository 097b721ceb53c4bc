"""/api/v1/filing-password: recovery (no account needed: the responsible person may not have one) and reset."""

from __future__ import annotations

from ninja import Field, Router, Schema, Status

from beian.accounts.auth import api_auth
from beian.core.http import client_ip, language
from beian.orders import recovery
from beian.orders.schemas import errors

router = Router(tags=["filing password"])


class RecoveryIn(Schema):
    number: str = Field(..., max_length=200, description="subject number; a website number is reduced to it")
    certificate_type: str = Field(..., max_length=60)
    certificate_number: str = Field(..., max_length=100)


class ResetIn(Schema):
    token: str = Field(..., max_length=200)
    new_password: str = Field(..., max_length=1000)


class IssueIn(Schema):
    number: str = Field(..., max_length=200)


class MessageOut(Schema):
    code: str
    message: str


ACCEPTED = (
    "如果信息与备案主体一致，重置链接已发送至主体负责人的邮箱（30 分钟内有效），并有短信通知。",
    "If the details match a filed subject, a reset link (valid 30 minutes) was e-mailed to its responsible person, with an SMS notice.",
)


def _msg(code: str, pair: tuple[str, str]) -> dict:
    return {"code": code, "message": pair[1] if language().startswith("en") else pair[0]}


@router.post(
    "/filing-password/recovery",
    response={202: MessageOut, **errors(400, 422, 429)},
    summary="找回备案密码: request a reset link",
)
def request_recovery(request, body: RecoveryIn):
    recovery.recovery_request(
        number=body.number,
        certificate_type=body.certificate_type,
        certificate_number=body.certificate_number,
        ip=client_ip(request),
    )
    return Status(202, _msg("recovery_requested", ACCEPTED))


@router.post(
    "/filing-password/reset",
    response={200: MessageOut, **errors(400, 422)},
    summary="Set a new filing password with the link's token",
)
def reset(request, body: ResetIn):
    subject = recovery.password_reset(token=body.token, new_password=body.new_password)
    done = (f"主体 {subject.number} 的备案密码已重置", f"The filing password of {subject.number} was reset")
    return Status(200, _msg("password_reset", done))


@router.post(
    "/filing-password/issue",
    response={202: MessageOut, **errors(400, 401, 403, 404, 422)},
    auth=api_auth,
    summary="Admin: send the responsible person a reset link",
)
def issue(request, body: IssueIn):
    subject = recovery.password_issue_link(actor=request.auth, number=body.number)
    sent = (
        f"重置链接已发送至 {subject.number} 的主体负责人",
        f"A reset link was sent to the responsible person of {subject.number}",
    )
    return Status(202, _msg("link_issued", sent))
