"""Demo data (``beian demo``, ``beian serve --demo``): accounts and filings a newcomer can walk through.

The registry and workflow apps add their demo content in ``load_demo``; credentials are printed and
written to ``$BEIAN_HOME/demo-credentials.json``.
"""

from __future__ import annotations

import json
import secrets
from typing import TextIO

from beian.web import config

DEMO_USERS = {"admin": {"is_staff": True, "is_superuser": True}}


def demo_loaded() -> bool:
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(username="admin").exists()


def load_demo(out: TextIO) -> dict:
    from django.contrib.auth import get_user_model
    from django.db import transaction

    User = get_user_model()
    credentials: dict = {"users": {}, "filing_passwords": {}}
    with transaction.atomic():
        for username, flags in DEMO_USERS.items():
            password = f"demo-{secrets.token_urlsafe(6)}"
            user, _ = User.objects.get_or_create(username=username, defaults=flags)
            user.set_password(password)
            user.save()
            credentials["users"][username] = {"password": password, "token": None}
    path = config.home() / "demo-credentials.json"
    path.write_text(json.dumps(credentials, ensure_ascii=False, indent=2), "utf-8")
    for username, cred in credentials["users"].items():
        print(f"  {username:12} {cred['password']}", file=out)
    print(f"演示账号已写入 / demo credentials written to {path}", file=out)
    return credentials
