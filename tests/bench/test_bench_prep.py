"""`doppel bench prep` runs the four data stages as separate processes and prints its figures."""
from __future__ import annotations

import re

from conftest import ROOT, doppel


def test_bench_prep_prints_figures(tmp_path):
    proc = doppel("bench", "prep", "--messages", "3000", "--workdir", tmp_path, cwd=ROOT, check=True)
    line = proc.stdout.strip().splitlines()[-1]
    assert re.match(r"bench prep: 3,000 messages \(\d+ MB export\) in [\d.]+s, [\d,]+ messages/s, peak RSS [\d,]+ MB",
                    line)
    for stage in ("ingest", "scrub", "segment", "build"):
        assert re.search(rf"{stage} [\d.]+s/[\d,]+ MB", line), stage
    assert (tmp_path / "run" / "processed" / "train.json").stat().st_size > 0


def test_bench_prep_outside_the_project_says_so(tmp_path):
    proc = doppel("bench", "prep", "--messages", "3000", "--workdir", tmp_path, cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and f"{tmp_path}/stages: not found: run `doppel bench prep` from the project root" in lines[0]
    assert not (tmp_path / "run").exists()
