"""`doppel bench prep` runs the four data stages as separate processes and prints each figure beside its
reference, measured in the same round."""
from __future__ import annotations

import json
import re
import shlex
import sys

import pytest

from conftest import ROOT, doppel
from doppel.bench.prep import LAYOUTS, peer_command, write_layout

CANONICAL = b'{\n "name": "a b",\n "chats": {\n  "list": [\n   {\n    "id": 1,\n    "messages": []\n   }\n  ]\n }\n}\n'


def test_bench_prep_prints_figures_beside_references(tmp_path):
    copy = f"{shlex.quote(sys.executable)} -c 'import shutil, sys; shutil.copy(sys.argv[1], sys.argv[2])'"
    proc = doppel("bench", "prep", "--messages", "3000", "--workdir", tmp_path, "--layouts", "tabs,minified",
                  "--repeat", "2", "--peer", f"{copy} {{export}} {{out}}/copy.json", cwd=ROOT, check=True)
    lines = proc.stdout.strip().splitlines()
    line = next(x for x in lines if x.startswith("bench prep: "))
    assert re.match(r"bench prep: 3,000 messages \(\d+ MB export\) in [\d.]+s, [\d,]+ messages/s, peak RSS [\d,]+ MB",
                    line)
    for stage in ("ingest", "scrub", "segment", "build"):
        assert re.search(rf"{stage} [\d.]+s/[\d,]+ MB", line), stage
    assert (tmp_path / "run" / "processed" / "train.json").stat().st_size > 0
    for layout in ("tabs", "minified"):
        assert re.search(rf"^bench prep layout {layout}: ingest [\d.]+s \([\d.]+x canonical\), peak RSS [\d,]+ MB, "
                         r"3,000 messages read$", proc.stdout, re.M), layout
    assert re.search(r"^bench prep reference: orjson.loads of the export [\d.]+s, peak RSS [\d,]+ MB; doppel's whole "
                     r"prep takes [\d.]+x its time and [\d.]+x its memory \(median of 2 rounds\)$", proc.stdout, re.M)
    assert re.search(r"^bench prep peer: [\d.]+s, peak RSS [\d,]+ MB; doppel is [\d.]+x faster and [\d.]+x leaner "
                     r"\(median of 2 rounds\)$", proc.stdout, re.M)
    export = tmp_path / "export-3000-1" / "result.json"
    assert (tmp_path / "run" / "peer" / "copy.json").read_bytes() == export.read_bytes()
    assert re.search(r"^bench prep goals: [\d.]+x the peer's speed \(goal >= 5x: (met|NOT met)\); peak RSS [\d,]+ MB "
                     r"\(goal <= 1,000 MB: (met|NOT met)\); slowest layout (tabs|minified) [\d.]+x canonical "
                     r"\(goal <= 2x: (met|NOT met)\)$", proc.stdout, re.M), proc.stdout


def test_goals_line_says_which_goal_is_met():
    from doppel.bench.prep import goals_line

    fig = {"peer_over_prep": 5.0, "prep_mb": 1000.0, "tabs_over_canonical": 0.9, "minified_over_canonical": 2.01}
    assert goals_line(fig, ["tabs", "minified"]) == (
        "bench prep goals: 5.00x the peer's speed (goal >= 5x: met); peak RSS 1,000 MB (goal <= 1,000 MB: met); "
        "slowest layout minified 2.01x canonical (goal <= 2x: NOT met)")
    fig.update(peer_over_prep=4.99, prep_mb=1001.0)
    assert goals_line(fig, []) == ("bench prep goals: 4.99x the peer's speed (goal >= 5x: NOT met); "
                                   "peak RSS 1,001 MB (goal <= 1,000 MB: NOT met)")


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_write_layout_keeps_the_json_and_changes_the_indentation(tmp_path, layout):
    src = tmp_path / "result.json"
    src.write_bytes(CANONICAL)
    out = tmp_path / f"{layout}.json"
    write_layout(src, layout, out)
    data = out.read_bytes()
    assert json.loads(data) == json.loads(CANONICAL)
    if layout == "minified":
        assert b"\n" not in data and data.startswith(b'{"name": "a b","chats"')
    else:
        assert data.splitlines()[5] == LAYOUTS[layout] * 4 + b'"id": 1,'
        assert data.splitlines()[1] == LAYOUTS[layout] + b'"name": "a b",'  # a space inside a string stays


def test_peer_command_fills_in_the_export_and_an_output_folder(tmp_path):
    cmd = peer_command("peer --in {export} --out={out}/x 'a b'", tmp_path / "e.json", tmp_path)
    assert cmd == ["peer", "--in", str(tmp_path / "e.json"), f"--out={tmp_path / 'peer'}/x", "a b"]
    assert (tmp_path / "peer").is_dir()


@pytest.mark.parametrize("flags, message", [
    (["--repeat", "0"], "--repeat: 0 rounds (at least 1)"),
    (["--layouts", "indent3"], "--layouts: unknown layout 'indent3'"),
    (["--messages", "99"], "--messages: 99 (at least 100,"),  # one under the sample's smallest export
    (["--messages", "0"], "--messages: 0 (at least 100,"),
])
def test_bench_prep_refuses_bad_flags_in_one_line(tmp_path, flags, message):
    proc = doppel("bench", "prep", "--messages", "3000", "--workdir", tmp_path, *flags, cwd=ROOT)
    assert proc.returncode == 2 and message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()


def test_bench_prep_outside_the_project_says_so(tmp_path):
    proc = doppel("bench", "prep", "--messages", "3000", "--workdir", tmp_path, cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and f"{tmp_path}/stages: not found: run `doppel bench prep` from the project root" in lines[0]
    assert not (tmp_path / "run").exists()
