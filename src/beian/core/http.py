"""Request helpers shared by views and routers."""

from __future__ import annotations

import ipaddress
import os

from django.utils.translation import get_language

# Behind nginx, set BEIAN_TRUSTED_PROXIES=127.0.0.1 so that X-Forwarded-For is believed from it (and only from it).
TRUSTED_PROXIES = {p.strip() for p in os.environ.get("BEIAN_TRUSTED_PROXIES", "").split(",") if p.strip()}


def client_ip(request) -> str:
    return client_ip_of(request.META)


def client_ip_of(meta) -> str:
    """The client's address from a request's META (or a WSGI environ, which it is)."""
    remote = meta.get("REMOTE_ADDR", "") or "unknown"
    if remote in TRUSTED_PROXIES:
        forwarded = meta.get("HTTP_X_FORWARDED_FOR", "")
        for hop in reversed([h.strip() for h in forwarded.split(",") if h.strip()]):
            if hop not in TRUSTED_PROXIES:
                try:
                    return str(ipaddress.ip_address(hop))
                except ValueError:
                    break
    return remote


def language() -> str:
    return get_language() or "zh-hans"
