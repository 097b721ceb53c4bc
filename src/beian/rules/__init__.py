"""The regulations as pure Python: no Django import anywhere in this package.

Every public function is total: it returns a result or raises a subclass of
:class:`beian.rules.errors.RulesError`, which carries a stable ``code`` and a
message in Chinese and in English. Sources for each fact are in
``docs/domain.md`` and in the data files under ``rules/data``.
"""

from beian.rules.errors import RulesError

__all__ = ["RulesError"]
