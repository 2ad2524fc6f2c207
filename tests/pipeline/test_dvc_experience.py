"""The DVC experience on a real git+DVC repo (small params): metrics that fit a terminal, every declared plot in
`dvc plots show` and `dvc plots diff`, no retrain after an experiment is reverted, a clean `git status`."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import BIN, copy_repo, env, run

COLUMNS = 120   # a normal terminal


def dvc(*args, cwd, check=True):
    return run(BIN / "dvc", *args, cwd=cwd, check=check)


def widest(text: str) -> int:
    return max((len(line.rstrip()) for line in text.splitlines()), default=0)


def declared_plots(repo: Path) -> list[str]:
    """Every plot `dvc plots show` should draw: dvc.yaml's top-level plots and the train stage's dvclive files."""
    spec = yaml.safe_load((repo / "dvc.yaml").read_text())
    ids = [next(iter(p)) for p in spec["plots"]]
    for stage in spec["stages"].values():
        for entry in stage.get("plots", []):
            folder = next(iter(entry)) if isinstance(entry, dict) else entry
            ids += [str(p.relative_to(repo)) for p in sorted((repo / folder).glob("*.tsv"))]
    return ids


def plots_json(repo: Path, *args) -> dict[str, list[dict]]:
    out = json.loads(dvc("plots", *args, "--json", cwd=repo).stdout)
    assert not out.get("errors"), out["errors"]
    return out["data"]


def revs_with_data(plot: list[dict]) -> set[str]:
    return {row["rev"] for p in plot for row in p["content"]["data"]["values"]}


@pytest.fixture(scope="module")
def repo(reproduced_repo, tmp_path_factory) -> Path:
    """A copy of the session's reproduced repo (one `dvc repro` with small params, committed), then one
    experiment (train.lora_r=4) in the workspace."""
    path = copy_repo(reproduced_repo, tmp_path_factory.mktemp("experience") / "repo")
    dvc("exp", "run", "-n", "rank4", "-S", "train.lora_r=4", cwd=path)
    return path


@pytest.mark.slow
def test_metrics_and_experiments_fit_a_terminal(repo):
    shown = dvc("metrics", "show", cwd=repo).stdout
    assert widest(shown) <= COLUMNS, shown
    assert "metrics/eval.json" in shown and "loss.twin" in shown and "train_rows" in shown
    assert "reports/" not in shown and "dvclive/" not in shown and "chats." not in shown
    # piped, DVC prints the table at its full width (no pager, no wrapping). The changed adapter's hash column
    # (38 wide: DVC shows every changed dependency) is left out as the README does.
    # COLUMNS set wide: DVC would otherwise fit (and cut) the table to whatever terminal width it inherits
    exps = subprocess.run([str(BIN / "dvc"), "exp", "show", "--only-changed", "--drop", "models/"], cwd=repo,
                          capture_output=True, text=True, env={**env(), "COLUMNS": "1000"}, check=True).stdout
    assert widest(exps) <= COLUMNS, exps
    # --only-changed: the experiment, its knob and the figures that moved (the loss always does)
    assert "rank4" in exps and "train.lora_r" in exps and "loss.twin" in exps
    diff = json.loads(dvc("metrics", "diff", "--json", cwd=repo).stdout)
    assert set(diff) == {"metrics/eval.json"}
    assert not any(k in json.dumps(diff) for k in ("mfu", "tokens_per_s", "peak_tflops"))


@pytest.mark.slow
def test_plots_show_and_diff_draw_every_declared_plot(repo):
    declared = declared_plots(repo)
    assert len(declared) >= 9   # 6 style/activity plots + the dvclive curves
    shown = plots_json(repo, "show")
    assert sorted(shown) == sorted(declared)
    assert all(revs_with_data(plot) == {"workspace"} for plot in shown.values())
    diff = plots_json(repo, "diff", "HEAD", "rank4")
    assert sorted(diff) == sorted(declared)
    for name, plot in diff.items():
        assert revs_with_data(plot) == {"HEAD", "rank4"}, name
    style = json.loads((repo / "plots" / "style" / "features.json").read_text())
    assert {r["feature"].rsplit(" (", 1)[1] for r in style} == {"owner)", "base)", "twin)"}
    hours = json.loads((repo / "plots" / "activity" / "hours.json").read_text())
    assert [r["hour"] for r in hours] == list(range(24)) and sum(r["messages"] for r in hours) > 0


@pytest.mark.slow
def test_no_retrain_after_revert_and_a_clean_tree(repo):
    run("git", "checkout", "--", ".", cwd=repo)
    dvc("checkout", cwd=repo)
    status = dvc("status", cwd=repo).stdout
    assert "up to date" in status, status
    again = dvc("repro", cwd=repo).stdout
    assert "Running stage" not in again and "up to date" in again
    assert run("git", "status", "--porcelain", "--untracked-files=all", cwd=repo).stdout == ""
    assert (repo / "reports" / "train_speed" / "metrics.json").is_file()   # written, and git-ignored
    assert not (repo / "models" / "train_state" / "state.pt").exists()      # a finished run leaves nothing to resume
