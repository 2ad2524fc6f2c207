"""`doppel scrub` as a stdin -> stdout filter follows params.yaml's scrub.names like the stage does; --names and
--no-names override it; no params file and no flag: a one-line error, exit 2."""
from __future__ import annotations

import pytest

from tests.conftest import doppel
from tests.support.twin import write_params

LINE = "передай Игнату Белоусову, номер 89123456789"
WITH_NAMES = "передай <NAME>, номер <PHONE>"
WITHOUT_NAMES = "передай Игнату Белоусову, номер <PHONE>"


@pytest.mark.parametrize("in_params,flags,expected", [
    (True, [], WITH_NAMES),
    (False, [], WITHOUT_NAMES),
    (True, ["--no-names"], WITHOUT_NAMES),
    (False, ["--names"], WITH_NAMES),
])
def test_filter_follows_params(tmp_path, in_params, flags, expected):
    write_params(tmp_path / "params.yaml", scrub={"names": in_params})
    proc = doppel("scrub", *flags, cwd=tmp_path, input=LINE + "\n", check=True)
    assert proc.stdout == expected + "\n"


def test_filter_other_params_file(tmp_path):
    write_params(tmp_path / "params.yaml", scrub={"names": False})
    write_params(tmp_path / "other.yaml", scrub={"names": True})
    proc = doppel("scrub", "--params", "other.yaml", cwd=tmp_path, input=LINE, check=True)
    assert proc.stdout == WITH_NAMES


def test_filter_the_projects_params_name_names():
    """In the project root the filter removes the names a pipeline run removes (scrub.names: true there)."""
    assert doppel("scrub", input=LINE, check=True).stdout == WITH_NAMES


def test_filter_without_params(tmp_path):
    proc = doppel("scrub", cwd=tmp_path, input=LINE)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip().count("\n") == 0 and "params.yaml: params file not found" in proc.stderr
    assert "decide with --names / --no-names" in proc.stderr  # the way out that needs no params file
    assert doppel("scrub", "--no-names", cwd=tmp_path, input=LINE, check=True).stdout == WITHOUT_NAMES
    bad = doppel("scrub", "--params", "missing.yaml", cwd=tmp_path, input=LINE)
    assert bad.returncode == 2 and "missing.yaml: params file not found" in bad.stderr
