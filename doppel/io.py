"""Reading and writing the pipeline's files: tables (parquet), reports (JSON), datasets (JSON rows).

Readers check what a stage needs and turn a missing or foreign file into one InputError line; writers
create the folder and write deterministically (sorted keys, no statistics), so dvc.lock does not churn.
"""
from __future__ import annotations

import json
from pathlib import Path

import orjson
import polars as pl

from doppel.errors import InputError

RUN_FIRST = "run `dvc checkout` first (restores it from the DVC cache), else `dvc repro`"


def write_json(path: Path, obj) -> None:
    """A report: sorted keys, 2-space indent, a final newline."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(obj, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")


def write_parquet(frame: pl.DataFrame | pl.LazyFrame, path: Path) -> None:
    """A table; a LazyFrame is streamed to the file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(frame, pl.LazyFrame):
        frame.sink_parquet(path, statistics=False)
    else:
        frame.write_parquet(path, statistics=False)


def _column_types(model) -> dict:
    """{column: Polars type} of a pandera model, or the dict itself (doppel.tables: no pandera needed)."""
    if model is None or isinstance(model, dict):
        return model or {}
    return {c: col.dtype.type for c, col in model.to_schema().columns.items()}


def read_table(path: Path, columns: list[str], model=None, optional: tuple[str, ...] | None = None,
               hint: str = RUN_FIRST) -> pl.DataFrame:
    """A previous stage's table, checked for the columns this stage reads and, given a pandera model or a dict of
    column types (doppel.tables), their types (integers of any width pass for integers). With `optional` (columns
    used when present), only `columns` and those are read: a stage that needs a few columns does not decode the
    others. `hint`: how to get a missing file."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, f"no such file ({hint})")
    if path.is_dir():
        raise InputError(path, "is a folder, expected a .parquet file")
    try:
        if optional is None:
            frame = pl.read_parquet(path)
        else:
            present = pl.read_parquet_schema(path)
            frame = pl.read_parquet(path, columns=[c for c in present if c in columns or c in optional])
    except Exception as err:  # noqa: BLE001 - polars raises several error types for a file that is not parquet
        raise InputError(path, f"not a readable parquet file ({type(err).__name__})") from None
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(path, f"missing columns: {', '.join(missing)}")
    expected = _column_types(model)
    for c in columns:
        if c not in expected:
            continue
        want = expected[c]
        if frame.schema[c] != want and not (frame.schema[c].is_integer() and want.is_integer()):
            raise InputError(path, f"column {c!r} is {frame.schema[c]}, expected {want}")
    return frame


ROWS_FIRST = "run `dvc checkout` first (restores it from the DVC cache), else `dvc pull` or `dvc repro build`"


def read_rows(path: Path, hint: str = ROWS_FIRST) -> list[dict]:
    """A dataset split (a JSON list of instruction rows), checked for `instruction` and `output` strings."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, f"dataset file not found ({hint})")
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError(path, f"not valid JSON ({err})") from None
    if not isinstance(rows, list) or not all(
            isinstance(r, dict) and isinstance(r.get("instruction"), str) and isinstance(r.get("output"), str)
            for r in rows):
        raise InputError(path, "expected a JSON list of rows with string `instruction` and `output`")
    return rows


def write_rows(rows: pl.DataFrame, path: Path, keys: list[str]) -> None:
    """A JSON array of row objects: what litgpt's JSON data module (and json.load) reads."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows.select(keys).write_json(path)
