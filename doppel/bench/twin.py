"""`doppel bench twin`: a real base trained on the sample in the language it reads, every evaluate figure base vs
twin, beside the tiny default's on the same data.

    doppel bench twin [--messages 8000] [--steps 10] [--seq 256] [--rows 24] [--loss-rows 64] [--seeds 42]

`doppel sample --language en` writes the export once into the work folder (with the project's sample.facts). Then each run (the tiny default, and
the real base once per seed) gets a copy of the project in a folder of its own: a params.yaml (the project's, with
the bench's knobs) in which the pipeline's stages run as dvc.yaml runs them (its `cmd` lines, `python stages/NAME.py
...`, the scripts from the project's stages/, the copy as the working directory): check, ingest, scrub, segment,
memory, build, base, train, evaluate. Each stage's own summary is the progress, every line with the time since the
bench began. A finished run whose params are unchanged is reused (add a seed: only its run trains). The end: one
table (every evaluate figure: tiny base, tiny twin, real base, real twin, the goal) and a few sample exchanges
(real / base / twin) of the real base's run.

The real base (`--base`, default the reference SmolLM2-135M-Instruct: `make realbase` first) is converted once into
base.cache_dir and reused. The tiny run takes the project's train section as it is (its default, on this data);
the real runs take --steps, --lr and --seeds. `--base tiny` runs the command end to end in minutes (its test).
"""
from __future__ import annotations

import copy
import json
import math
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from doppel.errors import InputError
from doppel.sample.skeleton import MIN_MESSAGES
from doppel.shell import ArgumentParser

REAL_BASE = "smollm2-135m-instruct"   # the reference real base's preset (README, "The reference real base")
LANGUAGE = "en"                       # what that base reads (it knows little Russian)
# the goals of issue 22 (README, "Benchmarks"): figure -> (comparison, value)
GOALS = {"style_gap_closed": (">=", 0.8), "authorship_ratio": (">=", 0.9), "fluency": ("<=", 1.3),
         "placeholder_share_tuned": ("==", 0.0)}
# the figures of reports/evaluation.json printed as one row each, base beside twin; the rest (ratios, counts)
# follow as one value per run
PAIRED = re.compile(r"^(?P<stem>.+)_(?:base|tuned)$")
EXCHANGES = 3                         # sample exchanges printed at the end
DONE = ".bench-done"                  # a finished run's params: a rerun with the same ones reuses the run


class Clock:
    """Progress lines, each with the minutes and seconds since the bench began."""

    def __init__(self):
        self.start = time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def line(self, text: str) -> None:
        m, s = divmod(int(self.elapsed()), 60)
        print(f"[{m:02d}:{s:02d}] {text}", flush=True)


def stage_commands(root: Path, params: dict) -> list[tuple[str, list[str]]]:
    """dvc.yaml's stages in its order, as (name, argv): `python stages/X.py` -> this Python and the project's
    script; ${section.key} filled in from `params`."""
    spec = yaml.safe_load((root / "dvc.yaml").read_text(encoding="utf-8"))

    def value(match: re.Match) -> str:
        section, key = match.group(1).split(".", 1)
        return str(params[section][key])

    out = []
    for name, stage in spec["stages"].items():
        argv = shlex.split(re.sub(r"\$\{([\w.]+)\}", value, stage["cmd"]))
        if argv[:1] == ["python"] and len(argv) > 1 and argv[1].startswith("stages/"):
            argv = [sys.executable, str(root / argv[1])] + argv[2:]
        out.append((name, argv))
    return out


def run_params(project: dict, export: Path, args, real: bool, seed: int) -> dict:
    """The project's params with the bench's knobs: the sample's export, the evaluation's size, the base."""
    p = copy.deepcopy(project)
    p["sample"].update(messages=args.messages, seed=args.sample_seed, language=LANGUAGE)
    p["ingest"]["input"] = str(export)
    p["evaluate"].update(generate_rows=args.rows, loss_rows=args.loss_rows, samples=max(EXCHANGES, 8))
    if args.threads is not None:
        p["evaluate"]["threads"] = args.threads
    if not real and args.tiny_steps is not None:
        p["train"]["max_steps"] = args.tiny_steps
    if real:
        p["base"]["checkpoint_dir"] = args.base
        p["train"].update(max_steps=args.steps, epochs=0, lr=args.lr, seed=seed, warmup_steps=min(3, args.steps - 1),
                          max_seq_length=args.seq,
                          eval_interval=0, checkpoint_interval=0, log_interval=max(1, args.steps // 10))
    return p


def run_pipeline(root: Path, work: Path, params: dict, clock: Clock, label: str) -> dict:
    """Every stage in `work` (a fresh project copy); the evaluation's details (reports/evaluation.json)."""
    text = yaml.safe_dump(params, sort_keys=False, allow_unicode=True)
    done, details = work / DONE, work / "reports" / "evaluation.json"
    if done.is_file() and done.read_text(encoding="utf-8") == text and details.is_file():
        clock.line(f"{label}: reused, same params as the finished run in {work} (delete it to rerun)")
        return json.loads(details.read_text())
    done.unlink(missing_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    (work / "params.yaml").write_text(text, encoding="utf-8")
    for name, argv in stage_commands(root, params):
        t0 = time.perf_counter()
        clock.line(f"{label}: {name} ...")
        proc = subprocess.Popen(argv, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                bufsize=1)
        for line in proc.stdout:  # the stage's own progress and summary, as it prints them
            if line.strip():
                clock.line(f"{label}: {name}: {line.rstrip()}")
        if proc.wait():
            raise SystemExit(f"bench twin: {label}: stage {name} failed (exit {proc.returncode}); its params: "
                             f"{work / 'params.yaml'}")
        clock.line(f"{label}: {name} done in {time.perf_counter() - t0:.0f} s")
    done.write_text(text, encoding="utf-8")
    return json.loads(details.read_text())


def fmt(v) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    if isinstance(v, float):
        return f"{v:.4f}" if abs(v) < 100 else f"{v:,.1f}"
    return str(v)


def spread(values: list) -> str:
    """mean, and max - min over the seeds when there are several."""
    vals = [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)]
    if not vals:
        return "n/a"
    if len(vals) == 1:
        return fmt(vals[0])
    return f"{fmt(statistics.fmean(vals))} ±{max(vals) - min(vals):.4f}"


def goal(key: str, real: list[dict]) -> str:
    """The goal of a figure and whether the real twin (mean over seeds) meets it."""
    if key == "lift_tuned":
        lifts = [d[key] for d in real]
        base = statistics.fmean(d["lift_base"] for d in real)
        width = max(lifts) - min(lifts) if len(lifts) > 1 else None
        mean = statistics.fmean(lifts)
        ok = mean > base and mean > (width or 0.0)
        need = f"> base, > 0 by > spread {fmt(width)}" if width is not None else "> base, > 0 by > spread (1 seed)"
        return f"{need}: {'met' if ok else 'not met'}"
    if key not in GOALS:
        return ""
    op, target = GOALS[key]
    vals = [d.get(key) for d in real]
    if any(v is None for v in vals):
        return f"{op} {target}: n/a"
    mean = statistics.fmean(vals)
    ok = {">=": mean >= target, "<=": mean <= target, "==": mean == target}[op]
    return f"{op} {target}: {'met' if ok else 'not met'}"


def table(tiny: dict, real: list[dict]) -> list[str]:
    """One row per evaluate figure: tiny base | tiny twin | real base | real twin | goal (paired figures), or
    tiny | real (the others)."""
    keys = [k for k in real[0] if k in tiny]
    stems = []
    for k in keys:
        m = PAIRED.match(k)
        if m and m.group("stem") not in stems and f"{m.group('stem')}_base" in real[0] \
                and f"{m.group('stem')}_tuned" in real[0]:
            stems.append(m.group("stem"))
    paired = {f"{s}_{w}" for s in stems for w in ("base", "tuned")}
    head = f"| {'figure':<34} | {'tiny base':>10} | {'tiny twin':>10} | {'real base':>15} | {'real twin':>15} | goal"
    lines = [head, "|" + "|".join("-" * n for n in (36, 12, 12, 17, 17, 30)) + "|"]
    for s in stems:
        b, t = f"{s}_base", f"{s}_tuned"
        lines.append(f"| {s:<34} | {fmt(tiny[b]):>10} | {fmt(tiny[t]):>10} | {spread([d[b] for d in real]):>15} | "
                     f"{spread([d[t] for d in real]):>15} | {goal(t, real)}")
    for k in keys:
        if k in paired:
            continue
        lines.append(f"| {k:<34} | {'':>10} | {fmt(tiny[k]):>10} | {'':>15} | {spread([d[k] for d in real]):>15} | "
                     f"{goal(k, real)}")
    return lines


def exchanges(samples: Path, n: int) -> list[str]:
    """The first n exchanges of an evaluate run's reports/samples.md, as written there."""
    text = samples.read_text(encoding="utf-8")
    parts = re.split(r"(?m)^## ", text)[1:n + 1]
    return [line for part in parts for line in ("## " + part.rstrip()).splitlines()] if parts else ["(none)"]


def check_project(root: Path, base: str) -> dict:
    """The project's params (the runs' starting point); a missing project or real base is one line."""
    if not (root / "dvc.yaml").is_file() or not (root / "stages").is_dir():
        raise InputError(root, "not a doppel project (no dvc.yaml and stages/): run `doppel bench twin` from the "
                               "project root")
    from doppel import config
    from doppel.base.source import inspect

    if base.strip().lower() != "tiny":  # an InputError line when the base is not there (the reference: `make realbase`);
        inspect(base, check=False)      # its weights are checked by each run's base stage
    return config.read(root / "params.yaml")


def parse_args(argv: list[str] | None):
    ap = ArgumentParser(prog="doppel bench twin", description=__doc__.split("\n")[0])
    ap.add_argument("--messages", type=int, default=8000,
                    help="messages in the English sample (default: 8000: ~1,000 train rows, ~100 val rows)")
    ap.add_argument("--sample-seed", type=int, default=7, help="the sample's seed (default: 7, the project's)")
    ap.add_argument("--steps", type=int, default=10, help="LoRA steps on the real base (default: 10: the run and its "
                                                          "evaluation took 43.5 min on this project's shared 2 cores)")
    ap.add_argument("--seq", type=int, default=256, help="the real base's sequence length, rows packed into each "
                                                         "(train.max_seq_length; default: 256: 8 x 256 tokens a step)")
    ap.add_argument("--lr", type=float, default=2e-3, help="the real base's LoRA learning rate (default: 2e-3)")
    ap.add_argument("--rows", type=int, default=24, help="val rows each model replies to (default: 24)")
    ap.add_argument("--loss-rows", type=int, default=64, help="val rows scored for loss, lift, fluency (default: 64)")
    ap.add_argument("--seeds", default="42", help="train seeds of the real base, comma-separated; two or more "
                                                  "give the seed-to-seed spread (default: 42)")
    ap.add_argument("--base", default=REAL_BASE, help=f"the real base, as base.checkpoint_dir takes it "
                                                      f"(default: {REAL_BASE}, after `make realbase`)")
    ap.add_argument("--threads", type=int, default=None, help="torch threads of evaluate (default: evaluate.threads)")
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "doppel-bench-twin",
                    help="the export and the runs' project copies (default: $TMPDIR/doppel-bench-twin)")
    ap.add_argument("--tiny-steps", type=int, default=None,
                    help="LoRA steps of the tiny default (default: train.max_steps, the project's)")
    ap.add_argument("--skip-tiny", action="store_true", help="no tiny run (its columns stay empty)")
    args = ap.parse_args(argv)
    try:
        args.seed_list = [int(s) for s in args.seeds.split(",") if s.strip()]
    except ValueError:
        ap.error(f"--seeds: {args.seeds!r} is not a comma-separated list of integers")
    if not args.seed_list:
        ap.error("--seeds: no seed given")
    if args.messages < MIN_MESSAGES:
        ap.error(f"--messages: {args.messages} (at least {MIN_MESSAGES}, the smallest sample)")
    for flag, v in (("--steps", args.steps), ("--seq", args.seq), ("--rows", args.rows),
                    ("--loss-rows", args.loss_rows), ("--tiny-steps", 1 if args.tiny_steps is None else args.tiny_steps)):
        if v < 1:
            ap.error(f"{flag}: {v} (at least 1)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    root = Path.cwd()
    project = check_project(root, args.base)
    clock = Clock()
    from doppel.sample.writer import write

    facts = bool(project["sample"]["facts"])  # the project's sample.facts: planted facts, fact recall measured
    export = args.workdir / f"export-{LANGUAGE}-{args.messages}-{args.sample_seed}{'-facts' if facts else ''}"
    if not (export / "result.json").is_file():
        _, s = write(export, args.messages, args.sample_seed, None, facts=facts, language=LANGUAGE)
        clock.line(f"sample ({LANGUAGE}): {s['messages']} messages, {s['chats']} chats -> {export}")
    # the real base first: stopped during the tiny run, a rerun with --skip-tiny prints its table at once
    runs = [(f"real-s{seed}", True, seed) for seed in args.seed_list]
    runs += [] if args.skip_tiny else [("tiny", False, args.seed_list[0])]
    clock.line(f"bench twin: {len(runs)} runs ({', '.join(r[0] for r in runs)}), real base {args.base}, "
               f"{args.steps} steps at lr {args.lr}, {args.rows} generated / {args.loss_rows} scored val rows")
    results: dict[str, dict] = {}
    for label, real, seed in runs:
        work = args.workdir / label
        results[label] = run_pipeline(root, work, run_params(project, export, args, real, seed), clock, label)
    real = [results[label] for label, is_real, _ in runs if is_real]
    tiny = results.get("tiny", {k: None for k in real[0]})
    print()
    print(f"bench twin: {args.messages} English sample messages (seed {args.sample_seed}), real base {args.base} "
          f"({args.steps} LoRA steps of 8 x {args.seq} tokens, lr {args.lr}, seeds {args.seeds}), tiny default "
          f"(project's train section{'' if args.tiny_steps is None else f', {args.tiny_steps} steps'}); "
          f"{real[0].get('val_rows')} val rows scored, {real[0].get('generated_rows')} generated; "
          f"{clock.elapsed() / 60:.1f} min")
    for line in table(tiny, real):
        print(line)
    print()
    print(f"sample exchanges (real base run {runs[0][0]}, {args.workdir / runs[0][0]}/reports/samples.md):")
    for line in exchanges(args.workdir / runs[0][0] / "reports" / "samples.md", EXCHANGES):
        print(line)
    return 0
