"""Loading of the JSON data files that ship inside the package (no network, read once)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


@cache
def load(name: str) -> dict[str, Any]:
    return json.loads(resources.files("beian.rules").joinpath("data", name).read_text("utf-8"))
