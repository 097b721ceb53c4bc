"""Fixtures of the offline-cancellation suites: users, Bearer clients, and readers of the generated forms."""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import subprocess
import zipfile

import pytest
from django.test import Client

from beian.accounts.services import token_create
from beian.core import clock
from tests import factories as f

API = "/api/v1"


def bearer(user) -> Client:
    """A test client that sends ``Authorization: Bearer <token>`` of ``user``."""
    return Client(headers={"Authorization": f"Bearer {token_create(user=user, name='test')}"})


def set_today(day: dt.date) -> None:
    """Move the service clock so that ``clock.today()`` is ``day`` (the autouse fixture resets it)."""
    clock.advance(dt.timedelta(days=(day - clock.today()).days))
    assert clock.today() == day


def squash(text: str) -> str:
    """Text without any whitespace: table cells and wrapped lines compare by content only."""
    return re.sub(r"\s+", "", text)


def docx_text(content: bytes) -> str:
    """All paragraph and table-cell text of a .docx."""
    from docx import Document

    doc = Document(io.BytesIO(content))
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    return "\n".join(parts)


def docx_xml(content: bytes) -> str:
    """Every XML part of a .docx (document, core properties …) as one string."""
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        return "\n".join(
            zf.read(name).decode("utf-8", "replace") for name in zf.namelist() if name.endswith(".xml")
        )


def pdf_text(content: bytes, tmp_path) -> str:
    """The text of a PDF as ``pdftotext`` (poppler) reads it."""
    tool = shutil.which("pdftotext")
    if tool is None:
        pytest.skip("pdftotext (poppler-utils) is not installed: cannot read the PDF form back")
    path = tmp_path / "form.pdf"
    path.write_bytes(content)
    result = subprocess.run(
        [tool, "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True, timeout=30
    )
    return result.stdout.decode("utf-8")


@pytest.fixture
def owner(db):
    return f.quick_user()


@pytest.fixture
def other(db):
    return f.quick_user()


@pytest.fixture
def provider(db):
    return f.quick_user(role="provider_reviewer")


@pytest.fixture
def bureau_11(db):
    return f.quick_user(role="bureau_reviewer", province="11")


@pytest.fixture
def bureau_44(db):
    return f.quick_user(role="bureau_reviewer", province="44")


@pytest.fixture
def api_bureau_11(bureau_11):
    return bearer(bureau_11)


@pytest.fixture
def api_bureau_44(bureau_44):
    return bearer(bureau_44)
