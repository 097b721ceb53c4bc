"""Sign in and out. Sign-in attempts are throttled per address and per username."""

from __future__ import annotations

import hashlib
import json
import unicodedata

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.utils.translation import gettext as _

from beian.core.errors import Throttled, throttled_page
from beian.core.http import client_ip, language
from beian.core.throttle import throttle_hit
from beian.web import config


def demo_credentials() -> dict:
    """The demo accounts and filing passwords, shown on the sign-in page in demo mode only."""
    if not settings.BEIAN_DEMO:
        return {}
    try:
        data = json.loads((config.home() / "demo-credentials.json").read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return {
        "accounts": [
            {"username": name, "password": d["password"]} for name, d in data.get("users", {}).items()
        ],
        "filing_passwords": sorted(data.get("filing_passwords", {}).items()),
    }


def _username_key(raw: str) -> str:
    """The account a sign-in attempt is against, read as the form reads it (stripped, NFKC) and case-folded,
    so that " admin" or "ａｄｍｉｎ" count against "admin"; a digest, so that any text (even NUL) is a valid key."""
    name = unicodedata.normalize("NFKC", raw.strip()).strip().casefold()
    return hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        username = request.POST.get("username") or ""
        try:
            throttle_hit(
                f"login-ip:{client_ip(request)}",
                capacity=20,
                per_seconds=300,
                what_zh="登录尝试",
                what_en="sign-in attempts",
            )
            throttle_hit(
                f"login-user:{_username_key(username)}",
                capacity=10,
                per_seconds=300,
                what_zh="登录尝试",
                what_en="sign-in attempts",
            )
        except Throttled as exc:
            messages.error(request, exc.message(language()))
            return throttled_page(self.get(request, *args, **kwargs), exc)
        return super().post(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        demo = demo_credentials()
        context["demo_accounts"] = demo.get("accounts", [])
        context["demo_filing_passwords"] = demo.get("filing_passwords", [])
        context["title"] = _("登录")
        return context
