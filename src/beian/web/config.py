"""Deployment configuration read from the environment (no Django import: the CLI and the gate use it too)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

TRUE = {"1", "true", "yes", "on"}


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in TRUE


def home() -> Path:
    """``BEIAN_HOME`` (default ``./var``): the SQLite file, the secret key, collected static files, demo credentials."""
    path = Path(os.environ.get("BEIAN_HOME", "var")).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_url() -> str:
    return os.environ.get("BEIAN_DATABASE_URL") or f"sqlite:///{home() / 'beian.sqlite3'}"


def secret_key() -> str:
    """``BEIAN_SECRET_KEY``, or a key generated once and kept in ``$BEIAN_HOME/secret_key`` (mode 0600)."""
    value = os.environ.get("BEIAN_SECRET_KEY")
    if value:
        return value
    path = home() / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        key = secrets.token_urlsafe(50)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(key)
        return key
    except FileExistsError:  # pragma: no cover - another process created it first
        return path.read_text().strip()
