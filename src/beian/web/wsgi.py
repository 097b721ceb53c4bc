"""WSGI entry point: Django is served through WSGI (ASGI is 4-5x slower here, see docs/performance.md), with the
public query's lane in front (lookup.lane: its common GET answered without Django's middleware)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "beian.web.settings")
django_application = get_wsgi_application()

from beian.lookup.lane import PublicQueryLane  # noqa: E402  (after Django is set up)

application = PublicQueryLane(django_application)
