"""`doppel export`: the twin for other runtimes.

    doppel export --to hf --out exports/twin-hf          # merged HF model: transformers, vLLM, llama.cpp
    doppel export --to peft --out exports/twin-peft      # the LoRA as a PEFT adapter: vLLM --lora-modules, Ollama
    doppel export --to litgpt --out exports/twin-litgpt  # merged litgpt checkpoint: litgpt chat/generate/serve
    doppel export --to hf --no-adapter --out exports/base-hf   # the base alone (the base of a PEFT adapter)

Base (params `base`) and adapter (params `export.adapter`) as the pipeline made them; the chat template is
built from params `build.system_prompt`, generation defaults from params `chat`. The output dir must not exist
or be empty; it is written beside it first and moved into place when complete.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from doppel import config
from doppel.errors import InputError
from doppel.shell import ArgumentParser

HINTS = {
    "hf": "AutoModelForCausalLM.from_pretrained({out}); vllm serve {out}",
    "peft": "vllm serve BASE --enable-lora --lora-modules twin={out}; PeftModel.from_pretrained(base, {out})",
    "litgpt": "litgpt chat {out}; litgpt serve {out}",
}


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = ArgumentParser(
        prog="doppel export", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="The twin in the formats other runtimes load.\n\n" + (__doc__ or "").split("\n\n", 1)[1])
    p.add_argument("--to", choices=("litgpt", "hf", "peft"), help="output format (default: params export.to)")
    p.add_argument("--output", "--out", dest="out", help="output dir, new or empty (default: params export.out, null: exports/twin-FORMAT)")
    p.add_argument("--base", type=Path, help="base checkpoint dir (default: the base stage's, base.checkpoint_dir)")
    p.add_argument("--adapter", help="LoRA adapter dir (default: export.adapter)")
    p.add_argument("--no-adapter", action="store_true", help="export the base alone (litgpt, hf)")
    p.add_argument("--dtype", choices=("auto", "float32", "bfloat16", "float16"),
                   help="dtype of merged weights (default: params export.dtype; auto: the base's)")
    p.add_argument("--base-name", help="peft: base model id or path written in adapter_config.json "
                                       "(default: params export.base_name, null: the base's HF id)")
    p.add_argument("--params", type=Path, default=config.PARAMS_FILE,
                   help="params file: sections export, base, build and chat (default: params.yaml)")
    return p.parse_args(argv)


def check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise InputError(out, "is a file: --output names the export folder to create")
    if out.is_dir() and any(out.iterdir()):
        raise InputError(out, "export dir exists and is not empty: pass another --output or remove it")


def sources(args: argparse.Namespace, cfg) -> Any:
    from doppel.export.weights import Source
    from doppel.model.checkpoint import find_base, validate_adapter

    checkpoint = find_base(args.params, args.base)
    return Source(checkpoint, None if args.no_adapter else validate_adapter(cfg.adapter))


def export(src, to: str, out: Path, *, system: str, sampling, dtype: str, base_name: str | None) -> dict[str, Any]:
    """Write the export into a temp dir beside `out`, then move it into place."""
    from doppel.export.hf import write_hf
    from doppel.export.litgpt_dir import write_litgpt
    from doppel.export.peft import write_peft

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        if to == "hf":
            summary = write_hf(src, tmp, system=system, sampling=sampling, dtype=dtype)
        elif to == "peft":
            summary = write_peft(src, tmp, system=system, base_name=base_name)
        else:
            summary = write_litgpt(src, tmp, system=system, dtype=dtype)
        if out.is_dir():
            out.rmdir()  # empty (checked before)
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return summary


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    flags = {"to": args.to, "out": args.out, "adapter": args.adapter, "dtype": args.dtype, "base_name": args.base_name}
    cfg = config.load("export", args.params, {k: v for k, v in flags.items() if v is not None})
    if args.no_adapter and cfg.to == "peft":
        raise InputError("--no-adapter", "a PEFT export is the adapter itself: drop --no-adapter")
    out = Path(cfg.out or f"exports/twin-{cfg.to}")
    check_out(out)
    src = sources(args, cfg)
    system = config.load("build", args.params).system_prompt
    sampling = config.load("chat", args.params)
    summary = export(src, cfg.to, out, system=system, sampling=sampling, dtype=cfg.dtype, base_name=cfg.base_name)
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    what = f"{src.checkpoint_dir.name} + {src.adapter_dir}" if src.adapter_dir else f"{src.checkpoint_dir.name} (no adapter)"
    details = ", ".join(f"{k} {'none' if v is None else v}" for k, v in summary.items())
    print(f"doppel export: {cfg.to} -> {out} ({what}; {details}; {size / 1e6:.1f} MB)", file=sys.stderr)
    print(f"doppel export: load it with: {HINTS[cfg.to].format(out=out)}", file=sys.stderr)
    if cfg.to == "peft" and "lm_head" in summary["targets"]:
        from doppel.export.peft import HEAD_NOTE

        print(f"doppel export: note: {HEAD_NOTE}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    from doppel.cli import main as cli_main

    sys.exit(cli_main(["export", *sys.argv[1:]]))
