"""What a training run reports: dvclive metrics (learning apart from speed), steady-state rates, the summary."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

# Summary keys that depend on the hardware and the moment, not on the inputs: they go to the speed log
# (reports/train_speed/: git-ignored and not declared in dvc.yaml), never into the DVC-hashed outputs or git,
# so `dvc repro -f` on the same inputs writes the same dvc.lock, `dvc metrics diff` compares results only and
# a training run leaves `git status` clean.
SPEED_KEYS = ("train_seconds", "tokens_per_s", "mfu", "peak_tflops", "peak_source", "peak_memory_gb",
              "seconds_total", "tokens_per_s_steady", "mfu_steady", "steady_steps")


def stderr(line: str) -> None:
    """Progress goes to stderr (stdout is for machine output)."""
    print(line, file=sys.stderr)


def quiet(*args, **kwargs) -> None:
    pass


class _NoLive:
    """dvclive's Live for ranks other than 0: takes the same calls, writes nothing."""

    def __init__(self):
        self.step, self.summary = 0, {}

    def __getattr__(self, name):
        return quiet


class Logs:
    """The run's two dvclive logs: `live` (loss, val_loss, lr: what is learned; in git, DVC plots) and `speed`
    (tokens/s, MFU: this machine's figures; a git-ignored report).
    `history` is every point logged to `live`, kept in the resume checkpoint and written back on resume
    (DVC removed the old plots)."""

    def __init__(self, live_dir: Path, speed_dir: Path, history: list[dict], writes: bool = True):
        from dvclive import Live

        if writes:
            self.live = Live(str(live_dir), dvcyaml=False, save_dvc_exp=False, report=None)
            self.speed = Live(str(speed_dir), dvcyaml=False, save_dvc_exp=False, report=None)
        else:
            self.live, self.speed = _NoLive(), _NoLive()
        self.history = history
        for rec in history:
            self.live.step = rec["step"]
            for k, v in rec["metrics"].items():
                self.live.log_metric(k, v)

    def metrics(self, step: int, metrics: dict[str, float]) -> None:
        self.history.append({"step": step, "metrics": metrics})
        self.live.step = step
        for k, v in metrics.items():
            self.live.log_metric(k, v)
        self.live.make_summary()

    def rates(self, step: int, tokens_per_s: float, mfu: float) -> None:
        self.speed.step = step
        self.speed.log_metric("tokens_per_s", tokens_per_s)
        self.speed.log_metric("mfu", mfu)

    def close(self, summary: dict[str, Any]) -> None:
        for k in ("val_loss_before", "val_loss_after", "tokens"):
            self.live.summary[k] = summary[k]
        self.live.end()
        for k in SPEED_KEYS:
            if k in summary:
                self.speed.summary[k] = summary[k]
        self.speed.make_summary()
        self.speed.end()


def steady_rates(steps: list[tuple[int, float, float]], peak: float) -> dict[str, float]:
    """tokens/s and MFU without the first steps (allocator, kernel autotuning), the figures to compare."""
    skip = min(2, len(steps) // 4)
    tail = steps[skip:]
    secs = sum(t for _, _, t in tail)
    if not tail or secs <= 0:
        return {}
    return {"tokens_per_s_steady": round(sum(n for n, _, _ in tail) / secs, 1),
            "mfu_steady": round(sum(f for _, f, _ in tail) / secs / peak, 5) if peak else 0.0,
            "steady_steps": len(tail)}


def fmt_time(s: float) -> str:
    s = int(max(0, s))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def summary(s: dict[str, Any], out_dir: Path) -> str:
    """The one-screen summary of a finished run."""
    lines = [
        "-" * 64,
        f" doppel train: done -> {out_dir}",
        f"  steps          {s['steps']}" + (f" (resumed at {s['resumed_from_step']})" if s["resumed_from_step"] else ""),
        f"  rows           {s['rows']['train']:,} train, {s['rows']['val']:,} val "
        f"({s['rows']['cut_left']} cut on the left, {s['rows']['dropped_long_reply']} dropped)",
        f"  tokens         {s['tokens']:,} (effective, no padding)",
        f"  train time     {s['train_seconds']:.1f}s" + (" (with the run before the resume)" if s["resumed_from_step"]
                                                       else "") + f"; this stage run {s['seconds_total']:.1f}s",
        f"  tokens/s       {s['tokens_per_s']:,.0f}",
        f"  MFU            {100 * s['mfu']:.2f}% of {s['peak_tflops']:.2f} TFLOP/s ({s['peak_source']})",
        f"  val loss       {s['val_loss_before']:.4f} (base) -> {s['val_loss_after']:.4f} (tuned)",
        f"  device         {s['device']} {s['precision']}, packing {'on' if s['packing'] else 'off'}, "
        f"{s['lora_params']:,} LoRA params" + (f", peak mem {s['peak_memory_gb']} GB" if "peak_memory_gb" in s else ""),
        "-" * 64,
    ]
    return "\n".join(lines)
