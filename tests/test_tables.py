"""doppel.tables' column types are the pandera models' own (a stage that only reads a table checks these)."""
from __future__ import annotations

import subprocess
import sys

from conftest import ROOT
from doppel import tables
from doppel.io import _column_types
from doppel.schemas import Message, MessageBatch, Turn


def test_column_types_are_the_models_types():
    assert tables.MESSAGE == _column_types(Message) == _column_types(MessageBatch)
    assert tables.TURN == _column_types(Turn)
    assert list(tables.MESSAGE) == list(_column_types(Message)) and list(tables.TURN) == list(_column_types(Turn))


def test_reading_stages_do_not_import_pandera():
    """scrub and memory read their input and write what they make: pandera (and numpy) stay out of their start-up."""
    code = ("import runpy, sys; sys.argv = ['x', '--help']\n"
            "try:\n    runpy.run_path(sys.argv_path, run_name='__main__')\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('pandera', 'numpy', 'torch', 'litgpt') if m in sys.modules))")
    for stage in ("scrub", "memory"):
        script = code.replace("sys.argv_path", repr(str(ROOT / "stages" / f"{stage}.py")))
        out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
        assert out.stdout.strip().splitlines()[-1] == "[]", (stage, out.stdout, out.stderr)
