"""The Django project: settings, URLs, the API assembly, base templates and static files."""
