"""Turning service refusals into pages: 404 for "not yours or absent", form errors for the rest."""

from __future__ import annotations

import functools

from django.http import Http404

from beian.core.errors import NotFound, ServiceError
from beian.core.http import language


def service_errors_as_404(view):
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(exc.message(language())) from None

    return wrapper


def add_service_error(form, exc: ServiceError, *, fields: dict[str, str] | None = None) -> None:
    """Show a service refusal beside the field it is about (``context['field']``), else above the form."""
    field = exc.context.get("field")
    field = (fields or {}).get(field, field)
    message = exc.message(language())
    if field and form is not None and field in form.fields:
        form.add_error(field, message)
    elif form is not None:
        form.add_error(None, message)
