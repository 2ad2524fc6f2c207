"""params.yaml access: one section per stage."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from doppel.errors import InputError

PARAMS_FILE = Path("params.yaml")


def load(section: str | None = None, path: str | Path = PARAMS_FILE) -> dict[str, Any]:
    """The whole params file, or one section of it ({} when the file or section is absent)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text()) if path.exists() else {}
    except yaml.YAMLError as err:
        where = getattr(err, "problem_mark", None)
        raise InputError(path, "not valid YAML" + (f" (line {where.line + 1})" if where else "")) from None
    data = data or {}
    if not isinstance(data, dict):
        raise InputError(path, "expected a mapping of sections (ingest:, scrub:, ...)")
    value = data.get(section) if section else data
    if value is not None and not isinstance(value, dict):
        raise InputError(path, f"section {section!r} should be a mapping, got {type(value).__name__}")
    return dict(value or {})
