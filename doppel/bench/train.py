"""`doppel bench train`: training throughput of our LoRA loop vs litgpt's finetune_lora, on the same data.

    doppel bench train --config Llama-3.1-8B [--seq 4096] [--micro-batch 2] [--steps N] [--quantize bnb.nf4]

A randomly initialised model of a named litgpt config (weights do not change throughput), synthetic chat rows
(session contexts and replies with chat-like, long-tailed lengths), our training step (packing, reply-only
loss, LoRA) for N optimizer steps: effective (non-padding) tokens/s, MFU, peak memory. Then, on the same rows
and config, `litgpt finetune_lora` (its CLI, in a subprocess, on a random-init checkpoint dir written here) for
the side-by-side ratio. On CPU use a tiny config (`--config pythia-14m` or `--config tiny`).
"""
from __future__ import annotations

import argparse
import gc
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from doppel.sample.rows import synthetic_rows, write_dataset
from doppel.shell import ArgumentParser

# ------------------------------------------------------------------------------------------ the bench

# `--config tiny`: a model of the tiny base's shape (params.yaml's base.tiny when this was written), fixed here
# so that the figures compare across runs whatever the project's params say
TINY = {"vocab_size": 4096, "n_layer": 4, "n_embd": 128, "n_head": 4, "intermediate_size": 384}


def random_checkpoint(out: Path, config_name: str, rows: list[dict], seq: int, write_weights: bool = True):
    """A litgpt checkpoint dir with random weights of `config_name` and a BPE trained on the rows."""
    from litgpt.config import Config
    from litgpt.utils import save_config

    from doppel.base.tiny import session_documents, tiny_config, train_tokenizer

    out.mkdir(parents=True, exist_ok=True)
    if config_name == "tiny":
        train_tokenizer(session_documents(rows), TINY["vocab_size"], out)
        config = tiny_config(SimpleNamespace(**TINY, block_size=max(seq, 512)), TINY["vocab_size"])
    else:
        config = Config.from_name(config_name)  # main() has refused an unknown name
        train_tokenizer(session_documents(rows), min(8192, config.vocab_size), out)
        if config.block_size < seq:
            raise SystemExit(f"--seq {seq} > block_size {config.block_size} of {config_name}")
    save_config(config, out)
    if write_weights:
        _random_weights(config, out / "lit_model.pth")
    return config


def _random_weights(config, path: Path) -> None:
    import torch
    from litgpt.model import GPT
    from litgpt.utils import reset_parameters

    cuda = torch.cuda.is_available()
    dtype = torch.bfloat16 if cuda else torch.float32
    saved = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device("meta"):
            model = GPT(config)
    finally:
        torch.set_default_dtype(saved)
    model = model.to_empty(device="cuda" if cuda else "cpu")
    torch.manual_seed(0)
    with torch.no_grad():
        reset_parameters(model)  # norms and the RoPE cache
        model.apply(model._init_weights)
    torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, path)
    del model
    if cuda:
        torch.cuda.empty_cache()


def train_config(args):
    """Our loop's settings for the bench: those the litgpt command line (run_litgpt) mirrors, from the flags."""
    from doppel import config

    return config.validate("train", {
        "lora_r": args.lora_r, "lora_alpha": 2 * args.lora_r, "lora_dropout": 0.05, "lora_targets": ["query", "value"],
        "lr": 2e-4, "min_lr_ratio": 0.1, "warmup_steps": 1, "schedule": "cosine", "weight_decay": 0.0,
        "grad_clip": 1.0, "batch_size": args.micro_batch, "micro_batch_size": args.micro_batch, "epochs": 0,
        "max_steps": args.steps, "max_seq_length": args.seq, "packing": not args.no_packing,
        "precision": args.precision, "quantize": args.quantize, "devices": 1, "seed": 1, "eval_interval": 0,
        "eval_max_rows": 100, "checkpoint_interval": 0, "log_interval": max(1, args.steps // 4),
        "peak_tflops": "auto", "compile": args.compile,
    }, path="doppel bench train")


def run_ours(ckpt: Path, data: Path, args, work: Path) -> dict[str, Any]:
    import torch

    from doppel import io
    from doppel.training import loop

    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()

    def log(s: str) -> None:
        print("  [ours] " + s.replace("\n", "\n  [ours] "))

    dirs = loop.Dirs(work / "adapter", work / "state", work / "dvclive", work / "speed")
    rows = io.read_rows(data / "train.json"), io.read_rows(data / "val.json")
    result = loop.run(train_config(args), ckpt, data / "train.json", *rows, dirs, log=log)
    log(loop.summary(result, dirs.out))
    return result


def run_litgpt(ckpt: Path, data: Path, args, work: Path, precision: str) -> dict[str, Any]:
    """litgpt's own finetune_lora, CLI form (called from Python its hyperparameter saving breaks)."""
    exe = Path(sys.executable).with_name("litgpt")
    cmd = [str(exe) if exe.exists() else "litgpt", "finetune_lora", str(ckpt),
           "--data", "JSON", "--data.json_path", str(data), "--data.mask_prompt", "true",
           "--data.prompt_style", json.dumps({"class_path": "doppel.prompt.TwinChat"}), "--data.num_workers", "0",
           "--out_dir", str(work / "litgpt_out"), "--precision", precision,
           "--lora_r", str(args.lora_r), "--lora_alpha", str(2 * args.lora_r), "--lora_dropout", "0.05",
           "--lora_query", "true", "--lora_value", "true", "--lora_key", "false",
           "--lora_projection", "false", "--lora_mlp", "false", "--lora_head", "false",
           "--train.micro_batch_size", str(args.micro_batch), "--train.global_batch_size", str(args.micro_batch),
           "--train.max_steps", str(args.litgpt_steps or args.steps), "--train.epochs", "1000",
           "--train.max_seq_length", str(args.seq), "--train.lr_warmup_steps", "1",
           "--train.save_interval", "1000000", "--train.log_interval", "1",
           "--eval.interval", "1000000", "--eval.max_iters", "1", "--eval.initial_validation", "false",
           "--eval.final_validation", "false", "--logger_name", "csv", "--seed", "1"]
    if args.quantize:
        cmd += ["--quantize", args.quantize]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path.cwd()), os.environ.get("PYTHONPATH", "")])}
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    out = proc.stdout + proc.stderr
    if proc.returncode != 0:
        tail = "\n".join(out.strip().splitlines()[-25:])
        raise SystemExit(f"litgpt finetune_lora failed (exit {proc.returncode}):\n{tail}")

    def grab(label: str) -> float:
        m = re.search(rf"{re.escape(label)}\s*:\s*([\d.]+)", out)
        return float(m.group(1)) if m else float("nan")

    res = {"tokens_effective": grab("Tokens w/ Prompt"), "tokens_padded": grab("Total Tokens (w/ Padding)"),
           "train_seconds": grab("Training Time"), "wall_seconds": round(wall, 1)}
    mem = re.search(r"Memory Used\s*:\s*([\d.]+)", out)
    if mem:
        res["peak_memory_gb"] = float(mem.group(1))
    res["tokens_per_s_all"] = res["tokens_effective"] / res["train_seconds"] if res["train_seconds"] else math.nan
    res["tokens_per_s"] = _litgpt_steady(work / "litgpt_out") or res["tokens_per_s_all"]
    return res


def _litgpt_steady(out_dir: Path) -> float | None:
    """Effective tokens/s from litgpt's per-iteration CSV log, without its first iterations (like ours)."""
    import csv

    files = sorted(out_dir.glob("logs/csv/version_*/metrics.csv"))
    if not files:
        return None
    with open(files[-1], newline="") as fh:
        its = [(float(r["iter_time"]), float(r["tokens"])) for r in csv.DictReader(fh) if r.get("iter_time")]
    skip = min(2, len(its) // 4)
    if len(its) <= skip:
        return None
    secs = sum(t for t, _ in its[skip:])
    tokens = its[-1][1] - (its[skip - 1][1] if skip else 0.0)
    return tokens / secs if secs > 0 else None


def parser() -> argparse.ArgumentParser:
    ap = ArgumentParser(prog="doppel bench train", description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", default="tiny", help="a litgpt config name (Llama-3.1-8B, pythia-14m) or tiny (default: tiny)")
    ap.add_argument("--seq", type=int, default=None, help="max sequence length (default: 4096 on GPU, 512 on CPU)")
    ap.add_argument("--micro-batch", type=int, default=2, help="sequences per forward (default 2)")
    ap.add_argument("--steps", type=int, default=None, help="optimizer steps (default: 30 on GPU, 10 on CPU)")
    ap.add_argument("--litgpt-steps", type=int, default=None,
                    help="litgpt steps (default: enough of its padded micro-batches for about the same tokens)")
    ap.add_argument("--rows", type=int, default=None, help="synthetic rows (default: enough for the steps)")
    ap.add_argument("--context-words", type=int, default=None, help="context budget per row in words")
    ap.add_argument("--lora-r", type=int, default=8, help="LoRA rank (default: 8)")
    ap.add_argument("--quantize", default=None, choices=["bnb.nf4", "bnb.nf4-dq"],
                    help="QLoRA: 4-bit frozen weights (CUDA + bitsandbytes)")
    ap.add_argument("--precision", default="auto", help="auto: bf16-mixed on CUDA, 32-true on CPU")
    ap.add_argument("--compile", action="store_true", help="torch.compile the blocks (GPU only)")
    ap.add_argument("--no-packing", action="store_true", help="our loop without packing (pads like litgpt)")
    ap.add_argument("--skip-litgpt", action="store_true", help="only our loop")
    ap.add_argument("--keep", default=None, help="keep the work dir here (default: a temp dir, removed)")
    ap.add_argument("--output", "--out", dest="out", default=None, help="also write the figures as JSON to this file")
    return ap


def check_quantize(quantize: str | None) -> None:
    from doppel.errors import InputError
    from doppel.training.hardware import check_quantize as check

    try:
        check(quantize)
    except InputError as err:
        why = "bitsandbytes is not installed" if "bitsandbytes" in err.problem else "no CUDA GPU here"
        raise SystemExit(f"bench train: --quantize {quantize} needs a CUDA GPU and bitsandbytes ({why})") from None


def prepare(args, work: Path, cuda: bool) -> tuple[list[dict], int, Path, Any]:
    """Fill in the flags' defaults for this machine; write the synthetic rows and the random checkpoint:
    (rows, how many of them train, the checkpoint dir, its litgpt Config)."""
    args.seq = args.seq or (4096 if cuda else 512)
    args.steps = args.steps or (30 if cuda else 10)
    ctx_words = args.context_words or max(60, min(args.seq // 3, 1500))
    # our step sees micro_batch packed sequences of ~seq tokens; rows average ~ctx/2 + reply tokens
    est_row = ctx_words * 0.6 + 10
    n_rows = args.rows or int(args.steps * args.micro_batch * args.seq / est_row * 1.15) + 50
    t0 = time.perf_counter()
    rows = synthetic_rows(n_rows + 16, seed=3, context_words=ctx_words)
    data = work / "data"
    data.mkdir(exist_ok=True)
    (data / "train.json").write_text(json.dumps(rows[:n_rows], ensure_ascii=False))
    (data / "val.json").write_text(json.dumps(rows[n_rows:], ensure_ascii=False))
    ckpt = work / "ckpt"
    config = random_checkpoint(ckpt, args.config, rows, args.seq)
    print(f"bench train: {args.config} ({config.n_layer} layers, n_embd {config.n_embd}), {n_rows} synthetic "
          f"rows, seq {args.seq}, micro-batch {args.micro_batch}, {args.steps} steps "
          f"[setup {time.perf_counter() - t0:.1f}s]")
    return rows, n_rows, ckpt, config


def ours_figures(args, ours: dict[str, Any], device: str) -> dict[str, Any]:
    return {
        "config": args.config, "seq": args.seq, "micro_batch": args.micro_batch, "steps": args.steps,
        "device": device, "precision": ours["precision"], "quantize": args.quantize,
        "ours": {
            "tokens": ours["tokens"], "train_seconds": ours["train_seconds"],
            "tokens_per_s": ours.get("tokens_per_s_steady", ours["tokens_per_s"]),
            "mfu": ours.get("mfu_steady", ours["mfu"]), "tokens_per_s_all": ours["tokens_per_s"],
            "peak_tflops": ours["peak_tflops"], "peak_source": ours["peak_source"],
            "peak_memory_gb": ours.get("peak_memory_gb"),
        },
    }


def compare_litgpt(args, result: dict[str, Any], rows: list[dict], n_rows: int, ckpt: Path, work: Path) -> None:
    """litgpt's finetune_lora on the same rows and config, into `result` beside ours."""
    o = result["ours"]
    if args.litgpt_steps is None:
        # litgpt takes micro_batch rows per step: as many steps as it needs for about our token count
        from litgpt.tokenizer import Tokenizer

        from doppel.training.data import encode_rows

        ex, _ = encode_rows(Tokenizer(ckpt), rows[:n_rows], args.seq)
        mean_row = sum(e.n_inputs + 1 for e in ex) / max(1, len(ex))
        args.litgpt_steps = max(2, min(n_rows // args.micro_batch, math.ceil(o["tokens"] / mean_row / args.micro_batch)))
    lit_precision = "32-true" if result["precision"] == "32-true" else "bf16-true"
    lit = run_litgpt(ckpt, work / "data", args, work, lit_precision)
    # the same useful FLOPs per effective token as ours (same rows): MFU scales with tokens/s
    lit["mfu"] = o["mfu"] * lit["tokens_per_s"] / o["tokens_per_s"] if o["tokens_per_s"] else None
    lit["steps"] = args.litgpt_steps
    lit["precision"] = lit_precision
    result["litgpt"] = lit
    result["ratio_tokens_per_s"] = round(o["tokens_per_s"] / lit["tokens_per_s"], 2)


def main(argv: list[str] | None = None) -> int:
    ap = parser()
    args = ap.parse_args(argv)
    for flag in ("seq", "micro_batch", "steps", "litgpt_steps", "rows", "context_words", "lora_r"):
        if (value := getattr(args, flag)) is not None and value < 1:  # 0 was taken as "the default" before
            ap.error(f"--{flag.replace('_', '-')}: {value} (at least 1)")
    if args.config != "tiny":
        from litgpt import Config

        try:
            Config.from_name(args.config)
        except ValueError:
            ap.error(f"--config: unknown litgpt config {args.config!r} (e.g. Llama-3.1-8B, Qwen2.5-7B, pythia-14m, "
                     "or tiny)")
    import torch

    cuda = torch.cuda.is_available()
    if args.quantize:
        check_quantize(args.quantize)
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="doppel-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        rows, n_rows, ckpt, _ = prepare(args, work, cuda)
        ours = run_ours(ckpt, work / "data", args, work)
        device = torch.cuda.get_device_name() if cuda else f"cpu ({torch.get_num_threads()} threads)"
        result = ours_figures(args, ours, device)
        gc.collect()
        if cuda:
            torch.cuda.empty_cache()
        if not args.skip_litgpt:
            compare_litgpt(args, result, rows, n_rows, ckpt, work)
        print(render(result))
        (work / "bench.json").write_text(json.dumps(result, indent=2) + "\n")
        if args.out:
            Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


def render(r: dict[str, Any]) -> str:
    o = r["ours"]
    mem = lambda d: f", peak mem {d['peak_memory_gb']:.1f} GB" if d.get("peak_memory_gb") else ""  # noqa: E731
    lines = [
        f"bench train | {r['config']} seq {r['seq']} micro-batch {r['micro_batch']} | {r['device']} {r['precision']}"
        + (f" {r['quantize']}" if r.get("quantize") else ""),
        f"  ours   : {o['tokens_per_s']:>12,.0f} effective tok/s | MFU {100 * o['mfu']:.2f}% of {o['peak_tflops']:.3g} "
        f"TFLOP/s ({o['peak_source']}) | {o['tokens']:,} tokens in {o['train_seconds']:.1f}s{mem(o)}",
    ]
    if "litgpt" in r:
        g = r["litgpt"]
        mfu = f"MFU {100 * g['mfu']:.2f}%" if g.get("mfu") is not None else "MFU n/a"
        lines.append(
            f"  litgpt : {g['tokens_per_s']:>12,.0f} effective tok/s | {mfu} | {int(g['tokens_effective']):,} tokens "
            f"({int(g['tokens_padded']):,} with padding) in {g['train_seconds']:.1f}s{mem(g)}")
        lines.append(f"  ratio  : {r['ratio_tokens_per_s']:.2f}x effective tokens/s (ours / litgpt finetune_lora; "
                     "steady state, first steps left out)")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
