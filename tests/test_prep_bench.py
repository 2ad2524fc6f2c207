"""`doppel bench prep` runs the four data stages as separate processes and prints its figures."""
from __future__ import annotations

import re

from tests.conftest import doppel


def test_bench_prep_prints_figures(tmp_path):
    proc = doppel("bench", "prep", "--messages", "3000", "--workdir", tmp_path, cwd=tmp_path, check=True)
    line = proc.stdout.strip().splitlines()[-1]
    assert re.match(r"bench prep: 3,000 messages \(\d+ MB export\) in [\d.]+s, [\d,]+ messages/s, peak RSS [\d,]+ MB", line)
    for stage in ("ingest", "scrub", "segment", "build"):
        assert re.search(rf"{stage} [\d.]+s/[\d,]+ MB", line), stage
    assert (tmp_path / "run" / "processed" / "train.json").stat().st_size > 0
