"""WSGI entry point: Django is served through WSGI (ASGI is 4-5x slower here, see docs/performance.md)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "beian.web.settings")
application = get_wsgi_application()
