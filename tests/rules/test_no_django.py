"""``beian.rules`` is pure Python: no module in it imports Django, directly or through a dependency."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import beian.rules

RULES_DIR = Path(beian.rules.__file__).parent


def test_no_module_source_imports_django() -> None:
    modules = sorted(RULES_DIR.rglob("*.py"))
    assert len(modules) >= 8
    for path in modules:
        tree = ast.parse(path.read_text("utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert not any(n == "django" or n.startswith("django.") for n in names), f"{path}: {names}"


def test_importing_every_module_loads_no_django() -> None:
    code = """
import importlib, json, pkgutil, sys
import beian.rules
names = [m.name for m in pkgutil.walk_packages(beian.rules.__path__, "beian.rules.")]
for name in names:
    importlib.import_module(name)
from beian.rules import describe, domains, filing_numbers, natures, provinces, workdays
describe.describe("川ICP备09010050-5号"); describe.describe("www.例子.中国")
provinces.all_provinces(); natures.natures(); workdays.check(__import__("datetime").date(2026, 10, 1))
print(json.dumps({"modules": names, "django": sorted(m for m in sys.modules if m.split(".")[0] == "django")}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    result = json.loads(out.stdout)
    assert "beian.rules.filing_numbers" in result["modules"]
    assert result["django"] == []
