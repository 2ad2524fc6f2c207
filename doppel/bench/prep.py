"""`doppel bench prep`: time ingest -> scrub -> segment -> build on a generated export of N messages, each figure
beside its reference, measured in the same round (this machine is shared and noisy: ratios, not absolute times).

The export is generated once per (N, seed) into --workdir and reused. Each stage runs as its own process, the
way `dvc repro` runs them: `python stages/NAME.py` from the project root, with its params.yaml. A round times
the four stages (wall seconds, peak RSS of the largest), then its references on the same file:

- `orjson.loads` of the whole export in a process of its own: a plain parse, the floor of any reader that
  parses everything (doppel's whole prep over it);
- with --peer, another tool's preparation of the same export (a command; the peer over doppel's prep);
- the same export re-saved in other layouts (minified, 2-space, 4-space, tab indentation, the way other tools
  and editors write it), each ingested alone (that layout's ingest over the canonical file's).

--repeat N runs N rounds and prints the median of each figure and ratio.
"""
from __future__ import annotations

import json
import os
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path

from doppel.errors import InputError
from doppel.sample.skeleton import MIN_MESSAGES
from doppel.shell import ArgumentParser

STAGES = ("ingest", "scrub", "segment", "build")
# issue 26's goals: the whole prep >= 5x the peer's speed within 1 GB peak RSS; any layout's ingest within 2x of
# the canonical file's
GOAL_PEER_RATIO, GOAL_PEAK_MB, GOAL_LAYOUT_RATIO = 5.0, 1000.0, 2.0
# re-saved layouts: bytes of indentation per level (Telegram's own: one space); minified: none, one line
LAYOUTS = {"minified": b"", "indent2": b"  ", "indent4": b"    ", "tabs": b"\t"}


def stage_commands(export: Path, work: Path) -> dict[str, list[str]]:
    """The data stages as dvc.yaml runs them (`python stages/NAME.py`, from the project root) on `work`'s files."""
    def stage(name: str, input: Path, output: Path, report: str) -> list[str]:
        return [sys.executable, f"stages/{name}.py", "--input", str(input), "--output", str(output),
                "--report", str(work / report)]

    return {
        "ingest": stage("ingest", export, work / "messages.parquet", "ingest.json"),
        "scrub": stage("scrub", work / "messages.parquet", work / "messages_clean.parquet", "scrub.json"),
        "segment": stage("segment", work / "messages_clean.parquet", work / "turns.parquet", "segment.json")
        + ["--plots", str(work / "plots")],
        "build": stage("build", work / "turns.parquet", work / "processed", "dataset.json"),
    }


def write_layout(export: Path, layout: str, out: Path) -> None:
    """The canonical export re-laid out, line by line (in Telegram's layout a string never spans lines, so the
    leading spaces of a line are its depth): minified (one line) or indented by LAYOUTS[layout] per level."""
    unit = LAYOUTS[layout]
    tmp = out.with_name(out.name + ".tmp")
    with open(export, "rb") as src, open(tmp, "wb") as dst:
        for line in src:
            body = line.lstrip(b" ")
            if layout == "minified":
                dst.write(body.rstrip(b"\n"))
            else:
                dst.write(unit * (len(line) - len(body)) + body)
    tmp.rename(out)


def layout_file(export: Path, layout: str) -> Path:
    variant = export.parent / f"result-{layout}.json"
    if not variant.exists():
        print(f"writing the {layout} layout of the export ...", file=sys.stderr)
        write_layout(export, layout, variant)
    return variant


def check_project_root() -> None:
    stages = Path.cwd() / "stages"
    if not stages.is_dir():
        raise InputError(stages, "not found: run `doppel bench prep` from the project root (the folder with dvc.yaml)")


def run_stage(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of one process."""
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the child becomes the stage, so its rusage is the stage's alone
        try:
            os.execvp(cmd[0], cmd)
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"bench prep: command failed: {shlex.join(cmd)}")
    return seconds, usage.ru_maxrss / 1024


def parse_reference(export: Path) -> list[str]:
    """A plain `orjson.loads` of the whole export (orjson is ingest's own JSON parser)."""
    return [sys.executable, "-c", "import orjson, sys; orjson.loads(open(sys.argv[1], 'rb').read())", str(export)]


def peer_command(template: str, export: Path, work: Path) -> list[str]:
    """--peer's command with {export} and {out} (a fresh folder for its outputs) filled in."""
    out = work / "peer"
    out.mkdir(parents=True, exist_ok=True)
    return [part.replace("{export}", str(export)).replace("{out}", str(out)) for part in shlex.split(template)]


def one_round(export: Path, work: Path, layouts: list[str], peer: str | None) -> dict[str, float]:
    """Every figure of one round: seconds and MB per stage, the whole prep, its references and the ratios."""
    fig: dict[str, float] = {}
    for name, cmd in stage_commands(export, work).items():
        fig[f"{name}_s"], fig[f"{name}_mb"] = run_stage(cmd)
    fig["prep_s"] = sum(fig[f"{name}_s"] for name in STAGES)
    fig["prep_mb"] = max(fig[f"{name}_mb"] for name in STAGES)
    fig["parse_s"], fig["parse_mb"] = run_stage(parse_reference(export))
    fig["prep_over_parse"] = fig["prep_s"] / fig["parse_s"]
    fig["prep_mb_over_parse"] = fig["prep_mb"] / fig["parse_mb"]
    if peer:
        fig["peer_s"], fig["peer_mb"] = run_stage(peer_command(peer, export, work))
        fig["peer_over_prep"] = fig["peer_s"] / fig["prep_s"]
        fig["peer_mb_over_prep"] = fig["peer_mb"] / fig["prep_mb"]
    for layout in layouts:
        cmd = stage_commands(layout_file(export, layout), work)["ingest"]
        cmd[cmd.index("--output") + 1] = str(work / f"messages-{layout}.parquet")
        cmd[cmd.index("--report") + 1] = str(work / f"ingest-{layout}.json")
        fig[f"{layout}_s"], fig[f"{layout}_mb"] = run_stage(cmd)
        fig[f"{layout}_over_canonical"] = fig[f"{layout}_s"] / fig["ingest_s"]
    return fig


def report_lines(fig: dict[str, float], export: Path, work: Path, layouts: list[str], rounds: int) -> list[str]:
    """The printed lines: each figure beside its reference; `fig` holds medians over `rounds` rounds."""
    med = f"median of {rounds} rounds" if rounds > 1 else "1 round"
    read = json.loads((work / "ingest.json").read_text())["messages_read"]
    rows = json.loads((work / "dataset.json").read_text())["rows"]
    lines = [f"bench prep layout canonical: ingest {fig['ingest_s']:.2f}s, peak RSS {fig['ingest_mb']:,.0f} MB "
             f"({export.stat().st_size / 1e6:.0f} MB)"]
    for layout in layouts:
        read_l = json.loads((work / f"ingest-{layout}.json").read_text())["messages_read"]
        lines.append(f"bench prep layout {layout}: ingest {fig[f'{layout}_s']:.2f}s "
                     f"({fig[f'{layout}_over_canonical']:.2f}x canonical), peak RSS {fig[f'{layout}_mb']:,.0f} MB, "
                     f"{read_l:,} messages read")
    lines.append(f"bench prep reference: orjson.loads of the export {fig['parse_s']:.2f}s, peak RSS "
                 f"{fig['parse_mb']:,.0f} MB; doppel's whole prep takes {fig['prep_over_parse']:.2f}x its time and "
                 f"{fig['prep_mb_over_parse']:.2f}x its memory ({med})")
    if "peer_s" in fig:
        lines.append(f"bench prep peer: {fig['peer_s']:.2f}s, peak RSS {fig['peer_mb']:,.0f} MB; doppel is "
                     f"{fig['peer_over_prep']:.2f}x faster and {fig['peer_mb_over_prep']:.2f}x leaner ({med})")
    per_stage = ", ".join(f"{name} {fig[f'{name}_s']:.2f}s/{fig[f'{name}_mb']:,.0f} MB" for name in STAGES)
    lines.append(
        f"bench prep: {read:,} messages ({export.stat().st_size / 1e6:.0f} MB export) in {fig['prep_s']:.2f}s, "
        f"{read / fig['prep_s']:,.0f} messages/s, peak RSS {fig['prep_mb']:,.0f} MB (largest stage); {per_stage}; "
        f"rows train {rows['train']:,} val {rows['val']:,}")
    lines.append(goals_line(fig, layouts))
    return lines


def goals_line(fig: dict[str, float], layouts: list[str]) -> str:
    """Each goal beside its figure, met or not."""
    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    parts = []
    if "peer_over_prep" in fig:
        parts.append(f"{fig['peer_over_prep']:.2f}x the peer's speed (goal >= {GOAL_PEER_RATIO:g}x: "
                     f"{verdict(fig['peer_over_prep'] >= GOAL_PEER_RATIO)})")
    parts.append(f"peak RSS {fig['prep_mb']:,.0f} MB (goal <= {GOAL_PEAK_MB:,.0f} MB: "
                 f"{verdict(fig['prep_mb'] <= GOAL_PEAK_MB)})")
    if layouts:
        worst = max(layouts, key=lambda x: fig[f"{x}_over_canonical"])
        ratio = fig[f"{worst}_over_canonical"]
        parts.append(f"slowest layout {worst} {ratio:.2f}x canonical (goal <= {GOAL_LAYOUT_RATIO:g}x: "
                     f"{verdict(ratio <= GOAL_LAYOUT_RATIO)})")
    return "bench prep goals: " + "; ".join(parts)


def main(argv: list[str] | None = None) -> int:
    ap = ArgumentParser(prog="doppel bench prep", description=__doc__.split("\n")[0])
    ap.add_argument("--messages", type=int, default=1_000_000,
                    help="messages in the generated export (default: 1000000)")
    ap.add_argument("--seed", type=int, default=1, help="seed of the generated export (default: 1)")
    ap.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "doppel-bench",
                    help="where the export and the stages' outputs go (default: $TMPDIR/doppel-bench)")
    ap.add_argument("--layouts", default=",".join(LAYOUTS),
                    help=f"re-laid-out exports to ingest beside the canonical one, comma-separated, of "
                         f"{', '.join(LAYOUTS)}; 'none' for none (default: {','.join(LAYOUTS)})")
    ap.add_argument("--repeat", type=int, default=1, help="rounds; figures are their medians (default: 1)")
    ap.add_argument("--peer", help="another tool's preparation to time on the same export, a command line; "
                                   "{export} is the export's path, {out} a folder for its outputs")
    args = ap.parse_args(argv)
    layouts = [] if args.layouts.strip() == "none" else [x.strip() for x in args.layouts.split(",") if x.strip()]
    if unknown := [x for x in layouts if x not in LAYOUTS]:
        ap.error(f"--layouts: unknown layout {unknown[0]!r} (known: {', '.join(LAYOUTS)}, or none)")
    if args.repeat < 1:
        ap.error(f"--repeat: {args.repeat} rounds (at least 1)")
    if args.messages < MIN_MESSAGES:
        ap.error(f"--messages: {args.messages} (at least {MIN_MESSAGES}, the smallest export doppel sample writes)")
    check_project_root()

    from doppel import sample

    export_dir = args.workdir / f"export-{args.messages}-{args.seed}"
    export = export_dir / "result.json"
    if not export.exists():
        print(f"generating a {args.messages:,}-message export in {export_dir} ...", file=sys.stderr)
        sample.write_sample(export_dir, args.messages, args.seed)
    work = args.workdir / "run"
    work.mkdir(parents=True, exist_ok=True)
    rounds = [one_round(export, work, layouts, args.peer) for _ in range(args.repeat)]
    medians = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
    for line in report_lines(medians, export, work, layouts, args.repeat):
        print(line)
    return 0
