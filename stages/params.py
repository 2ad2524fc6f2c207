"""params.yaml access: one section per stage."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

PARAMS_FILE = Path("params.yaml")


def load(section: str | None = None, path: str | Path = PARAMS_FILE) -> dict[str, Any]:
    """The whole params file, or one section of it ({} when the file or section is absent)."""
    path = Path(path)
    data = yaml.safe_load(path.read_text()) if path.exists() else {}
    data = data or {}
    return dict(data.get(section) or {}) if section else data
