"""The base model the LoRA is trained on -> models/base/, by `base.checkpoint_dir`:

- `tiny`: a small litgpt model and BPE built here from the train split (doppel.base.tiny);
- the path of a litgpt checkpoint (what `litgpt download <repo>` writes): validated, never copied; models/base
  then holds only `base.json`, a pointer with a fingerprint of the checkpoint;
- an HF model folder or a `.gguf` file (doppel.base.source): converted once into `base.cache_dir`
  (doppel.base.convert), then pointed to like a litgpt checkpoint (base.json also names the source).
"""
from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any, Callable

from doppel import io
from doppel.config import BaseConfig
from doppel.base.convert import convert
from doppel.base.source import inspect
from doppel.model.checkpoint import fingerprint, validate_checkpoint
from doppel.base.tiny import build_tiny


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)


def run(cfg: BaseConfig, train_rows: list[dict] | None, out_dir: Path,
        log: Callable[[str], Any] = _stderr) -> dict[str, Any]:
    """Write models/base (`out_dir`, replaced atomically): the tiny checkpoint built from `train_rows`, or the
    pointer to an external checkpoint. Returns base.json's content plus `seconds`."""
    out_dir = Path(out_dir)
    ckpt, source = None, None
    if not cfg.is_tiny:
        source = inspect(cfg.checkpoint_dir)
        if source.kind == "litgpt":
            ckpt = validate_checkpoint(source.path)
        else:
            ckpt = validate_checkpoint(convert(source, cfg.cache_dir, cfg.litgpt_name, log=log))
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    t0 = time.perf_counter()
    try:
        if ckpt is None:
            log(f"doppel base: tiny model from {len(train_rows or []):,} train rows")
            stats = build_tiny(train_rows or [], cfg.tiny, tmp, log=log)
            info = {"kind": "tiny", "checkpoint_dir": ".", "tiny": cfg.tiny.model_dump(),
                    "params": stats["params"], "vocab_size": stats["vocab_size"],
                    "pretrain": {k: stats[k] for k in ("steps", "tokens", "corpus_tokens", "loss_first", "loss_last")}}
        else:
            log(f"doppel base: using the litgpt checkpoint {ckpt} (not copied)")
            info = {"kind": "external", "checkpoint_dir": str(ckpt), "files": fingerprint(ckpt)}
            if source.kind != "litgpt":
                info["source"] = {"kind": source.kind, "path": str(source.path), "litgpt_name": cfg.litgpt_name}
        # base.json is deterministic (no timings): models/base is a DVC output and must not churn
        io.write_json(tmp / "base.json", info)
        shutil.rmtree(out_dir, ignore_errors=True)
        os.replace(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {**info, "seconds": round(time.perf_counter() - t0, 2)}


def summary(info: dict[str, Any], out_dir: Path) -> str:
    if info["kind"] != "tiny":
        return f"doppel base: {out_dir}/base.json points to {info['checkpoint_dir']}"
    pre = info["pretrain"]
    return (f"doppel base: {info['params']:,} params, pre-trained {pre['steps']} steps / {pre['tokens']:,} tokens "
            f"(loss {pre['loss_first']} -> {pre['loss_last']}) in {info['seconds']:.1f}s -> {out_dir}")
