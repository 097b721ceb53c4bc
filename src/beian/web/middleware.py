"""Security headers on every response: a Content-Security-Policy without 'unsafe-inline'.

Pages load only this origin's scripts and styles (no inline script, no CDN); the API docs page
(/api/v1/docs) loads Swagger UI from ninja's static files (its settings are a JSON block, not a script),
which this policy allows too: it gets the same header as every other response.
"""

from __future__ import annotations

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "object-src 'none'",
    ]
)


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", CSP)
        return response
