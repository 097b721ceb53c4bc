"""Account services: create users with a role, issue and check API tokens."""

from __future__ import annotations

from django.db import transaction

from beian.accounts.models import ApiToken, Role, User, digest
from beian.core import clock
from beian.core.errors import Invalid, NotFound
from beian.rules import provinces


def user_create(
    *,
    username: str,
    password: str | None,
    role: str = Role.APPLICANT,
    province: str = "",
    email: str = "",
    mobile: str = "",
    **extra,
) -> User:
    role = Role(role)
    if role == Role.BUREAU_REVIEWER:
        province = provinces.by_code(province).code
    elif province:
        raise Invalid(
            "province_only_for_bureau", "只有管局审核员有所属省份", "Only a bureau reviewer has a province"
        )
    user = User(username=username, role=role, province=province, email=email, mobile=mobile, **extra)
    if role == Role.ADMIN:
        user.is_staff = user.is_superuser = True
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    return user


@transaction.atomic
def token_create(*, user: User, name: str = "") -> str:
    """Issue an API token for ``user``; the clear key is returned once and stored only as a digest."""
    key = ApiToken.new_key()
    ApiToken.objects.create(user=user, name=name, key_digest=digest(key), key_hint=key[:10])
    return key


def token_user(key: str) -> User | None:
    """The active user a bearer token belongs to, or None."""
    if not key or len(key) > 200:
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_digest=digest(key), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    now = clock.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)  # coarse, to avoid a write per request
    return token.user


def user_by_username(username: str) -> User:
    try:
        return User.objects.get(username=username)
    except User.DoesNotExist:
        raise NotFound("unknown_user", f"用户“{username}”不存在", f"No user named {username!r}") from None
