"""The DVC experience on a real git+DVC repo (small params), with the README's own commands (parsed from
README.md, so they cannot drift): metrics and experiments that fit a terminal, every declared plot in `dvc plots
show` and `dvc plots diff`, a bad value refused before anything runs or is removed, no retrain after an
experiment is reverted, a clone that pulls cleanly, a clean `git status`."""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import BIN, ROOT, copy_repo, doppel, env, run

COLUMNS = 120   # a normal terminal
# `make` as the README runs it, on this test run's environment: the venv is the one running the tests, and
# `-o` tells make it is installed (a throwaway repo has no pyproject.toml to install from)
MAKE = ["make", "-s", f"VENV={BIN.parent}", "-o", f"{BIN.parent}/.installed"]


def readme_block(after: str) -> list[str]:
    """The command lines of README.md's first ```bash block after the line holding `after` (comments dropped)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("```bash\n", text.index(after)) + len("```bash\n")
    lines = [re.sub(r"\s+#\s.*$", "", line) for line in text[start:text.index("```", start)].splitlines()]
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def as_run_here(line: str, **subs: str) -> str:
    """A README line as this test runs it: its make, the venv's tools, placeholders filled in."""
    line = re.sub(r"^make ", " ".join(MAKE) + " ", line).replace(".venv/bin/", f"{BIN}/")
    for placeholder, value in subs.items():
        line = line.replace(placeholder, value)
    return line


def shell(line: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(["bash", "-c", f"set -euo pipefail\n{line}"], cwd=cwd, capture_output=True, text=True,
                          env={**env(), "COLUMNS": "1000"})  # DVC would otherwise fit (and cut) tables to its tty
    if check and proc.returncode:
        raise AssertionError(f"{line!r} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def exp_show_lines() -> list[str]:
    """The README's `dvc exp show` lines: the changed knobs, then the headline figures."""
    return [line for line in readme_block("## Compare runs") if line.startswith("dvc exp show")]


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
    """A copy of the session's reproduced repo (one `dvc repro` with small params, committed), then two
    experiments in the workspace: one on a data stage's params (new data hashes), one on train's."""
    path = copy_repo(reproduced_repo, tmp_path_factory.mktemp("experience") / "repo")
    dvc("exp", "run", "-n", "gap12", "-S", "segment.session_gap_hours=12", cwd=path)
    dvc("exp", "run", "-n", "rank4", "-S", "train.lora_r=4", cwd=path)
    # a third knob, one of the longest names (30 characters): only evaluate reruns
    dvc("exp", "run", "-n", "share", "-S", "evaluate.catchphrase_min_share=0.02", cwd=path)
    return path


@pytest.mark.slow
def test_metrics_and_experiments_fit_a_terminal(repo):
    shown = dvc("metrics", "show", cwd=repo).stdout
    assert widest(shown) <= COLUMNS, shown
    assert "metrics/eval.json" in shown and "bpb.twin" in shown and "lift" in shown and "fluency" in shown
    assert "reports/" not in shown and "dvclive/" not in shown and "chats." not in shown
    # piped, DVC prints the table at its full width (no pager, no wrapping): the README's lines, after
    # experiments on three knobs (a data stage's, train's, evaluate's: every data and model hash changed, 38
    # wide each): one table of the knobs, one of the figures (one table of both was 134 wide)
    knobs, figures = (shell(line, cwd=repo).stdout for line in exp_show_lines())
    for table in (knobs, figures):
        assert widest(table) <= COLUMNS, table
        assert all(name in table for name in ("rank4", "gap12", "share"))
        assert "data/" not in table and "models/" not in table and "Created" not in table
    changed = ("train.lora_r", "segment.session_gap_hours", "evaluate.catchphrase_min_share")
    for knob in changed:
        assert knob in knobs and knob not in figures
    # the README's width rule: the experiment column (19 for "├── 1234567 [gap12]"), the names, 3 per column
    assert widest(knobs) == 19 + sum(map(len, changed)) + 3 * (len(changed) + 1), knobs
    assert "bpb.twin" in figures and "style_gap_closed" in figures  # headline figures that move with these knobs
    for figure in ("bpb.twin", "style_gap_closed", "authorship", "lift", "fluency", "quiz_fooled"):
        assert figure not in knobs  # (--only-changed drops a figure equal in every run: authorship may be)
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
def test_the_readme_experiment_recipe_goes_back_without_retraining(repo):
    """The README's block as written (one more experiment, compare, apply, go back): going back restores every
    stage from DVC's run cache, to exactly the committed run."""
    lock = run("git", "show", "HEAD:dvc.lock", cwd=repo).stdout
    block = readme_block("## Compare runs")
    assert block[-1].startswith("git checkout -- . && dvc repro")
    for line in block:
        back = shell(as_run_here(line.replace(" --open", "")), cwd=repo)   # --open: a browser
    said = back.stdout + back.stderr
    assert "Running stage" not in said, said
    for stage in ("segment", "build", "base", "train", "evaluate"):
        assert f"Stage '{stage}' is cached - skipping run" in said or f"Stage '{stage}' didn't change" in said
    assert "Stage 'train' is cached - skipping run" in said   # the r16 adapter was in the workspace
    assert (repo / "dvc.lock").read_text() == lock
    assert "up to date" in dvc("status", cwd=repo).stdout
    again = dvc("repro", cwd=repo).stdout
    assert "Running stage" not in again and "up to date" in again
    assert run("git", "status", "--porcelain", "--untracked-files=all", cwd=repo).stdout == ""
    assert (repo / "reports" / "train_speed" / "metrics.json").is_file()   # written, and git-ignored
    assert not (repo / "models" / "train_state" / "state.pt").exists()      # a finished run leaves nothing to resume


def fingerprint(repo: Path) -> dict[str, str]:
    """Every pipeline output's bytes (the check's own record aside: DVC removes it before the check reruns)."""
    return {str(p.relative_to(repo)): hashlib.sha256(p.read_bytes()).hexdigest()
            for top in ("data", "models", "dvclive", "metrics", "reports", "plots") for p in (repo / top).rglob("*")
            if p.is_file() and p.name != "params.json"}


def set_params(repo: Path, **values) -> None:
    params = yaml.safe_load((repo / "params.yaml").read_text())
    for dotted, value in values.items():
        section, key = dotted.split(".")
        params[section][key] = value
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False, allow_unicode=True))


BAD = [({"segment.session_gap_hours": 12, "build.val_share": 1.5},
        "build.val_share: input should be less than 1 (got 1.5)"),
       ({"train.lr": "abc"}, "train.lr: input should be a valid number"),
       # valid, but not on this machine (no CUDA GPU in CI): once train's own refusal, after DVC removed the adapter
       ({"train.quantize": "bnb.nf4"}, "train.quantize = bnb.nf4: needs a CUDA GPU")]


@pytest.mark.slow
def test_a_bad_value_stops_before_any_stage_runs_and_nothing_is_removed(reproduced_repo, tmp_path):
    """The issue's cases: a bad value after a valid change to an earlier stage (segment must not rerun first), and
    a bad train value (the adapter must survive). `make repro` (the README's command) exits 2 with one line;
    a plain `dvc repro` stops at its check stage. Then the fixed file brings everything back without a rerun."""
    repo = copy_repo(reproduced_repo, tmp_path / "repo")
    shutil.copy(ROOT / "Makefile", repo / "Makefile")
    before = fingerprint(repo)
    assert "models/adapter/adapter.pth" in before and "data/interim/turns.parquet" in before
    for values, message in BAD:
        set_params(repo, **values)
        made = subprocess.run([*MAKE, "repro"], cwd=repo, capture_output=True, text=True, env=env())
        assert made.returncode == 2, made.stderr
        assert made.stderr.startswith(f"doppel check: error: params.yaml: {message}"), made.stderr
        assert [line for line in made.stderr.splitlines() if not line.startswith("make")] == [
            made.stderr.splitlines()[0]]
        assert "Running stage" not in made.stdout
        repro = dvc("repro", cwd=repo, check=False)
        said = repro.stdout + repro.stderr
        assert repro.returncode != 0 and f"params.yaml: {message}" in said
        assert re.findall(r"Running stage '(\w+)'", said) == ["check"], said
        assert fingerprint(repo) == before
        run("git", "checkout", "params.yaml", cwd=repo)
    fixed = dvc("repro", cwd=repo).stdout
    assert "Running stage" not in fixed and "Stage 'check' is cached - skipping run" in fixed
    assert fingerprint(repo) == before
    assert "up to date" in dvc("status", cwd=repo).stdout


@pytest.mark.slow
def test_the_readme_sharing_recipe_in_a_second_clone(reproduced_repo, tmp_path):
    """The README's sharing block (a folder remote), then its clone block in a second clone: the pull exits 0
    and names what stays private, the twin answers, and `dvc status` as the README gives it says up to date."""
    repo = copy_repo(reproduced_repo, tmp_path / "repo")
    shutil.copy(ROOT / "Makefile", repo / "Makefile")
    run("git", "add", "Makefile", cwd=repo)
    run("git", "commit", "-qm", "Makefile", cwd=repo)
    store = tmp_path / "store"
    for line in readme_block("## Sharing datasets"):
        if "s3://" in line or "endpointurl" in line:   # the S3 variants: tests/pipeline/test_pipeline.py
            continue
        shell(as_run_here(line, **{"/mnt/shared/doppel": str(store)}), cwd=repo)
    assert run("git", "status", "--porcelain", cwd=repo).stdout == ""   # the recipe committed what it pushed
    block = readme_block("On another machine")
    assert block[0].startswith("git clone <your repo> doppel && cd doppel")
    assert any(line.startswith(".venv/bin/doppel chat") for line in block)
    proc = shell("\n".join(as_run_here(line, **{"<your repo>": str(repo)}) for line in block), cwd=tmp_path)
    said = proc.stdout + proc.stderr
    clone = tmp_path / "doppel"
    private = [o for s in yaml.safe_load((repo / "dvc.yaml").read_text())["stages"].values() for entry in s["outs"]
               if isinstance(entry, dict) for o, spec in entry.items() if spec.get("push") is False]
    assert sorted(private) == ["data/interim/memory.parquet", "data/interim/messages.parquet",
                               "data/interim/messages_clean.parquet", "data/interim/turns.parquet"]
    note = [line for line in said.splitlines() if line.startswith("make pull: done")]
    assert len(note) == 1 and all(p in note[0] for p in private), said
    assert "ERROR" not in said and "WARNING" not in said, said
    assert "Data and pipelines are up to date." in said
    for shared in ("models/adapter/adapter.pth", "data/processed/train.json", "reports/samples.md",
                   "plots/style/features.json", "reports/params.json"):
        assert (clone / shared).is_file(), shared
    assert not any((clone / p).exists() for p in private)
    # what the README says a plain `dvc status` shows in a clone, and a plain `dvc pull`
    status = dvc("status", cwd=clone).stdout
    assert sorted(re.findall(r"^(\w+):$", status, re.M)) == ["build", "ingest", "memory", "scrub", "segment"], status
    plain = dvc("pull", cwd=clone, check=False)
    assert plain.returncode == 1 and "data/interim/turns.parquet" in plain.stderr


def test_make_pull_without_a_remote_says_so_instead_of_done(tmp_path):
    """A clone whose .dvc/config names no remote: `make pull` used to print "make pull: done" with nothing
    pulled (dvc pull exits 0 with no remote when --quiet). Now: one line naming the fix, exit 2, no "done"."""
    repo = tmp_path / "clone"
    repo.mkdir()
    for name in ("Makefile", "dvc.yaml"):
        shutil.copy(ROOT / name, repo / name)
    run("git", "init", "-q", cwd=repo)
    dvc("init", "-q", cwd=repo)
    made = subprocess.run([*MAKE, "pull"], cwd=repo, capture_output=True, text=True, env=env())
    assert made.returncode == 2, made.stdout + made.stderr
    said = [line for line in made.stderr.splitlines() if not re.match(r"make(\[\d+\])?: \*\*\*", line)]
    assert len(said) == 1 and said[0].startswith("make pull: no default DVC remote"), made.stderr
    assert "dvc remote add -d store" in said[0] and "done" not in made.stdout


def test_make_pull_from_a_remote_without_the_data_is_not_done(tmp_path):
    """A remote that lacks the committed run (no `dvc push`): dvc pull --allow-missing exits 0, having pulled
    nothing; `make pull` names what is missing and fails instead of printing "make pull: done"."""
    repo = tmp_path / "clone"
    repo.mkdir()
    for name in ("Makefile", "dvc.yaml", "dvc.lock", "params.yaml"):
        shutil.copy(ROOT / name, repo / name)
    run("git", "init", "-q", cwd=repo)
    dvc("init", "-q", cwd=repo)
    (tmp_path / "store").mkdir()
    dvc("remote", "add", "-d", "store", str(tmp_path / "store"), cwd=repo)
    made = subprocess.run([*MAKE, "pull"], cwd=repo, capture_output=True, text=True, env=env())
    assert made.returncode != 0 and "done" not in made.stdout, made.stdout + made.stderr
    said = [line for line in made.stderr.splitlines() if line.startswith("make pull:")]
    assert said == ["make pull: the remote lacks data/processed/train.json data/processed/val.json models/base "
                    "models/adapter (was `dvc push` run after the committed repro?)"], made.stderr


def test_python_bytecode_is_no_stage_dependency(tmp_path):
    """dvc.yaml's folder deps (doppel/training, doppel/evaluation, doppel/config) must hash the same with and
    without __pycache__ (a run writes it, a fresh clone has none): main's dvc.lock once held 18 files for
    doppel/training's 9, so `dvc status` in a clean clone said train changed and `make repro` retrained."""
    repo = tmp_path / "repo"
    (repo / "pkg" / "__pycache__").mkdir(parents=True)
    shutil.copy(ROOT / ".dvcignore", repo / ".dvcignore")
    (repo / "pkg" / "mod.py").write_text("x = 1\n")
    (repo / "pkg" / "__pycache__" / "mod.cpython-311.pyc").write_bytes(b"\x00bytecode")
    (repo / "pkg" / "stray.pyc").write_bytes(b"\x00bytecode")
    run("git", "init", "-q", cwd=repo)
    dvc("init", "-q", cwd=repo)
    for path in ("pkg/__pycache__/mod.cpython-311.pyc", "pkg/stray.pyc"):
        assert dvc("check-ignore", path, cwd=repo, check=False).returncode == 0, path
    assert dvc("check-ignore", "pkg/mod.py", cwd=repo, check=False).returncode == 1


@pytest.mark.slow
def test_after_an_interrupted_run_every_hint_says_dvc_checkout_and_it_brings_the_twin_back(reproduced_repo, tmp_path):
    """What an interrupted `dvc repro` leaves (DVC removes a stage's outputs before its command runs, so an
    interrupted train leaves no models/adapter; a rerun base, no models/base): every command that loads the twin
    says `dvc checkout` first (seconds) before `dvc repro` (hours of GPU on a real base); following it brings
    back the very files, and the twin answers."""
    repo = copy_repo(reproduced_repo, tmp_path / "repo")
    before = fingerprint(repo)
    shutil.rmtree(repo / "models" / "adapter")
    creds = {**env(), "TELEGRAM_API_ID": "1", "TELEGRAM_API_HASH": "0" * 32, "XDG_CONFIG_HOME": str(tmp_path / "cfg")}
    for command in (["chat", "--message", "hi"], ["serve", "--port", "0"], ["quiz"], ["evaluate"],
                    ["export", "--to", "hf", "--output", str(tmp_path / "hf")], ["bot", "--log", str(tmp_path / "b")]):
        proc = subprocess.run([BIN / "doppel", *command], cwd=repo, capture_output=True, text=True, env=creds,
                              stdin=subprocess.DEVNULL)
        assert proc.returncode == 2 and proc.stderr.count("\n") == 1, (command, proc.stderr)
        assert proc.stderr.startswith(f"doppel {command[0]}: error: {repo / 'models' / 'adapter'}: adapter not found; "
                                      "run `dvc checkout` first (restores it from the DVC cache)"), proc.stderr
    shutil.rmtree(repo / "models" / "base")
    proc = subprocess.run([BIN / "doppel", "chat", "--message", "hi"], cwd=repo, capture_output=True, text=True,
                          env=env())
    assert proc.returncode == 2 and "run `dvc checkout models/base` first" in proc.stderr, proc.stderr
    dvc("checkout", cwd=repo)                                   # the hint, followed
    assert fingerprint(repo) == before
    assert doppel("chat", "--message", "hi", cwd=repo, check=True).stdout.strip()
