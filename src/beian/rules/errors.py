"""Typed errors for the rules package: one stable code, a Chinese and an English message."""

from __future__ import annotations

from typing import Any


class RulesError(ValueError):
    """A value that breaks a regulation or cannot be read.

    ``code`` is stable and machine-readable; ``message_zh`` is what the UI shows by
    default, ``message_en`` the English alternative; ``context`` carries the facts
    the message was built from (for API error bodies).
    """

    def __init__(self, code: str, message_zh: str, message_en: str, **context: Any) -> None:
        super().__init__(message_en)
        self.code = code
        self.message_zh = message_zh
        self.message_en = message_en
        self.context = context

    def message(self, language: str = "zh-hans") -> str:
        return self.message_en if language.lower().startswith("en") else self.message_zh

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.message_en!r})"


class FilingNumberError(RulesError):
    """A text that is not a valid filing number (备案号)."""


class DomainError(RulesError):
    """A text that is not a domain name that can be filed."""


class ProvinceError(RulesError):
    """An unknown province (省份) code or abbreviation."""


class NatureError(RulesError):
    """An unknown subject nature (主办单位性质) or certificate type."""


class WorkdayError(RulesError):
    """A working-day computation asked with arguments outside its domain (negative days, unknown stage)."""
