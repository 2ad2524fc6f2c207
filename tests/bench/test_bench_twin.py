"""`doppel bench twin`: the pipeline's stages (dvc.yaml's commands) in a project copy per run, the table of every
evaluate figure, base vs twin. End to end on the tiny base only (the real base is the benchmark's, not the tests')."""
from __future__ import annotations

import json
import re
import sys

import yaml

from conftest import ROOT, doppel
from doppel.bench.twin import exchanges, goal, run_params, stage_commands, table


def test_bench_twin_end_to_end_on_the_tiny_base(tmp_path):
    """A short run: the real-base slot filled by `--base tiny` with 2 steps, no separate tiny run."""
    proc = doppel("bench", "twin", "--base", "tiny", "--skip-tiny", "--messages", "1500", "--steps", "2",
                  "--rows", "3", "--loss-rows", "6", "--seeds", "5", "--workdir", tmp_path, cwd=ROOT, check=True)
    out = proc.stdout
    work = tmp_path / "real-s5"
    # progress: every stage of dvc.yaml, in its order, with the time since the start
    started = re.findall(r"^\[\d\d:\d\d\] real-s5: (\w+) \.\.\.$", out, re.M)
    assert started == list(yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"])
    assert re.search(r"^\[\d\d:\d\d\] real-s5: train: .*step", out, re.M)
    # the run's project copy: the bench's knobs in its params, the English sample, the pipeline's outputs
    params = yaml.safe_load((work / "params.yaml").read_text())
    assert params["sample"]["language"] == "en" and params["train"]["max_steps"] == 2
    assert params["train"]["seed"] == 5 and params["evaluate"]["generate_rows"] == 3
    facts = "-facts" if yaml.safe_load((ROOT / "params.yaml").read_text())["sample"]["facts"] else ""
    assert params["ingest"]["input"] == str(tmp_path / f"export-en-1500-7{facts}")
    val = json.loads((work / "data" / "processed" / "val.json").read_text())
    assert val and not any(re.search("[а-яё]", r["output"], re.I) for r in val)
    details = json.loads((work / "reports" / "evaluation.json").read_text())
    assert details["generated_rows"] == 3
    # the table: a row per paired figure, its real-twin column the run's own figure
    row = next(line for line in out.splitlines() if line.startswith("| bpb "))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1:3] == ["n/a", "n/a"]  # no tiny run
    assert cells[3] == f"{details['bpb_base']:.4f}" and cells[4] == f"{details['bpb_tuned']:.4f}"
    assert re.search(r"^\| style_gap_closed +\| +\| +n/a \| +\| +-?[\d.]+ \| >= 0.8: (met|not met)$", out, re.M)
    assert "sample exchanges" in out and "- **twin:**" in out
    # the same flags again: the finished run is reused, nothing runs, the same table
    again = doppel("bench", "twin", "--base", "tiny", "--skip-tiny", "--messages", "1500", "--steps", "2",
                   "--rows", "3", "--loss-rows", "6", "--seeds", "5", "--workdir", tmp_path, cwd=ROOT, check=True)
    assert re.search(r"^\[\d\d:\d\d\] real-s5: reused, same params", again.stdout, re.M)
    assert not re.search(r"real-s5: \w+ \.\.\.$", again.stdout, re.M) and row in again.stdout.splitlines()


def test_bench_twin_refuses_bad_flags_and_a_missing_base(tmp_path):
    for flags, problem in ((["--steps", "0"], "--steps: 0"), (["--seeds", "4,x"], "--seeds"),
                           (["--messages", "99"], "--messages: 99")):
        proc = doppel("bench", "twin", "--workdir", tmp_path, *flags, cwd=ROOT)
        assert proc.returncode == 2 and problem in proc.stderr, proc.stderr
    proc = doppel("bench", "twin", "--base", str(tmp_path / "nowhere"), "--workdir", tmp_path, cwd=ROOT)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1 and "nowhere" in proc.stderr
    proc = doppel("bench", "twin", "--base", "tiny", "--workdir", tmp_path, cwd=tmp_path)
    assert proc.returncode == 2 and "not a doppel project" in proc.stderr and "Traceback" not in proc.stderr


def test_stage_commands_are_dvc_yaml_s_with_this_python():
    params = {"ingest": {"input": "/x/export"}}
    cmds = dict(stage_commands(ROOT, params))
    assert cmds["ingest"][:2] == [sys.executable, str(ROOT / "stages" / "ingest.py")]
    assert cmds["ingest"][cmds["ingest"].index("--input") + 1] == "/x/export"
    assert cmds["evaluate"][cmds["evaluate"].index("--output") + 1] == "metrics/eval.json"


def test_run_params_change_only_the_bench_s_knobs():
    project = yaml.safe_load((ROOT / "params.yaml").read_text())

    class Args:
        messages, sample_seed, rows, loss_rows, threads, tiny_steps = 900, 3, 5, 7, None, 4
        base, steps, lr, seq = "smollm2-135m-instruct", 10, 0.002, 128

    tiny = run_params(project, ROOT / "e", Args, real=False, seed=9)
    real = run_params(project, ROOT / "e", Args, real=True, seed=9)
    assert tiny["train"] == {**project["train"], "max_steps": 4}
    assert tiny["base"] == project["base"] and real["base"]["checkpoint_dir"] == "smollm2-135m-instruct"
    assert real["train"]["max_steps"] == 10 and real["train"]["lr"] == 0.002 and real["train"]["seed"] == 9
    assert real["train"]["epochs"] == 0 and real["train"]["warmup_steps"] == 3
    assert real["train"]["max_seq_length"] == 128 and tiny["train"]["max_seq_length"] == project["train"]["max_seq_length"]
    for p in (tiny, real):
        assert p["sample"] == {**project["sample"], "messages": 900, "seed": 3, "language": "en"}
        assert p["evaluate"]["generate_rows"] == 5 and p["evaluate"]["loss_rows"] == 7
        assert {k: v for k, v in p.items() if k not in ("sample", "ingest", "evaluate", "train", "base")} == \
            {k: v for k, v in project.items() if k not in ("sample", "ingest", "evaluate", "train", "base")}
    assert project["sample"]["language"] == "ru"  # the project's own params untouched


def test_table_and_goals_on_hand_made_figures():
    tiny = {"bpb_base": 1.0, "bpb_tuned": 0.5, "lift_base": 0.0, "lift_tuned": 0.01, "fluency": 2.0,
            "style_gap_closed": 0.3, "authorship_ratio": 0.5}
    real = [dict(tiny, bpb_base=0.9, bpb_tuned=0.6, lift_base=0.01, lift_tuned=0.05, fluency=1.2,
                 style_gap_closed=0.85, authorship_ratio=0.8),
            dict(tiny, bpb_base=0.9, bpb_tuned=0.7, lift_base=0.01, lift_tuned=0.03, fluency=1.4,
                 style_gap_closed=0.8, authorship_ratio=0.95)]
    lines = table(tiny, real)
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.strip("|").split("|")] for line in lines[2:]}
    assert rows["bpb"][1:5] == ["1.0000", "0.5000", "0.9000 ±0.0000", "0.6500 ±0.1000"]
    assert rows["lift"][4] == "0.0400 ±0.0200"
    # lift: mean 0.04 > base 0.01 and > the spread 0.02: met; one point less and it is not
    assert rows["lift"][5] == "> base, > 0 by > spread 0.0200: met"
    assert goal("lift_tuned", [dict(real[0], lift_tuned=0.05), dict(real[1], lift_tuned=0.005)]).endswith("not met")
    assert rows["fluency"][2:5] == ["2.0000", "", "1.3000 ±0.2000"] and rows["fluency"][5] == "<= 1.3: met"
    assert rows["style_gap_closed"][5] == ">= 0.8: met"            # mean 0.825
    assert rows["authorship_ratio"][5] == ">= 0.9: not met"        # mean 0.875
    assert goal("authorship_ratio", [dict(real[0], authorship_ratio=0.9)]) == ">= 0.9: met"   # exactly at the goal
    assert goal("fluency", [dict(real[0], fluency=1.3001)]) == "<= 1.3: not met"            # just past it


def test_exchanges_are_the_samples_file_s_first_sections(tmp_path):
    samples = tmp_path / "samples.md"
    samples.write_text("# Sample exchanges\n\nintro\n\n## 1. session 4\n\n```text\nThem: hi\n```\n\n- **real:** yo\n\n"
                       "## 2. session 5\n\n- **real:** b\n\n## 3. session 6\n\n- **real:** c\n")
    assert exchanges(samples, 2) == ["## 1. session 4", "", "```text", "Them: hi", "```", "", "- **real:** yo",
                                     "## 2. session 5", "", "- **real:** b"]
