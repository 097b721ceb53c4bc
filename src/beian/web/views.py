"""Pages of the web tier that belong to no single app: home, inspect, health."""

from __future__ import annotations

from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language

from beian.rules.describe import describe
from beian.rules.errors import RulesError


def home(request):
    """Signed in: the page of one's role. Anonymous: sign in, or the public tools."""
    user = request.user
    if user.is_authenticated:
        if user.role == "provider_reviewer":
            return redirect("review_queue", "provider")
        if user.role == "bureau_reviewer":
            return redirect("review_queue", "bureau")
        return redirect("subject_list")
    return render(request, "web/landing.html", {})


def blocked(request):
    """The page nginx shows for a host that is not served (no active filing here): 该网站暂时无法访问."""
    host = (request.GET.get("host") or request.headers.get("X-Original-Host") or "")[:253]
    return render(request, "web/blocked.html", {"host": host}, status=403)


def inspect(request):
    q = request.GET.get("q", "").strip()
    result = error = None
    if q:
        try:
            result = describe(q)
        except RulesError as exc:
            error = exc.message(get_language() or "zh-hans")
    return render(request, "web/home.html", {"q": q, "result": result, "error": error, "nav": "inspect"})


def ping(request):
    """The cheapest Django view: the baseline the benchmarks compare the public query against."""
    return HttpResponse("ok", content_type="text/plain")


def healthz(request):
    try:
        connection.ensure_connection()
        ok = True
    except Exception:
        ok = False
    return JsonResponse({"status": "ok" if ok else "degraded", "database": ok}, status=200 if ok else 503)
