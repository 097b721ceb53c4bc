"""Pages of the web tier that belong to no single app: home, inspect, health."""

from __future__ import annotations

from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import get_language

from beian.rules.describe import describe
from beian.rules.errors import RulesError


def home(request):
    q = request.GET.get("q", "").strip()
    result = error = None
    if q:
        try:
            result = describe(q)
        except RulesError as exc:
            error = exc.message(get_language() or "zh-hans")
    return render(request, "web/home.html", {"q": q, "result": result, "error": error})


def healthz(request):
    try:
        connection.ensure_connection()
        ok = True
    except Exception:
        ok = False
    return JsonResponse({"status": "ok" if ok else "degraded", "database": ok}, status=200 if ok else 503)
