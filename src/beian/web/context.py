"""Template context shared by every page."""

from django.conf import settings


def deployment(request):
    return {
        "site_filing_number": settings.BEIAN_SITE_FILING_NUMBER,
        "demo_mode": settings.BEIAN_DEMO,
    }
