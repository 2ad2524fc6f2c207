"""doppel.io.read_table: a previous stage's table, checked; with `optional`, only the columns a stage uses."""
from __future__ import annotations

import polars as pl
import pytest

from doppel import io
from doppel.errors import InputError


@pytest.fixture
def table(tmp_path):
    path = tmp_path / "m.parquet"
    pl.DataFrame({"a": [1, 2], "b": ["x", "y"], "c": [True, False], "drop_reason": [None, "empty"]}).write_parquet(path)
    return path


def test_optional_reads_the_columns_needed_and_the_optional_ones_present(table):
    frame = io.read_table(table, ["a", "b"], optional=("drop_reason", "absent"))
    assert frame.columns == ["a", "b", "drop_reason"] and frame["drop_reason"].to_list() == [None, "empty"]
    assert io.read_table(table, ["b"], optional=()).columns == ["b"]
    assert io.read_table(table, ["b"]).columns == ["a", "b", "c", "drop_reason"]  # without `optional`: all


@pytest.mark.parametrize("optional", [None, ("drop_reason",)])
def test_a_missing_column_or_a_foreign_file_is_one_input_error(table, tmp_path, optional):
    with pytest.raises(InputError, match="missing columns: d$"):
        io.read_table(table, ["a", "d"], optional=optional)
    (tmp_path / "x.parquet").write_text("not parquet")
    with pytest.raises(InputError, match=r"not a readable parquet file"):
        io.read_table(tmp_path / "x.parquet", ["a"], optional=optional)
