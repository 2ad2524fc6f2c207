"""`doppel base`: the base model the LoRA is trained on -> models/base/.

Two kinds, chosen by `base.checkpoint_dir` in params.yaml:

- `tiny` (the embedded default): a small litgpt model (RMSNorm, LLaMAMLP, RoPE) and a byte-level BPE trained
  with `tokenizers` on the train split's text, saved as a valid litgpt checkpoint (lit_model.pth,
  model_config.yaml, tokenizer.json, tokenizer_config.json), then briefly pre-trained on the text of every
  speaker in the train split so it knows the language; the LoRA then learns the owner. Seeded and deterministic.
- a path to a litgpt checkpoint (what `litgpt download <repo>` writes): validated, never copied; models/base
  then holds only `base.json`, a pointer with a fingerprint of the checkpoint.

`resolve_checkpoint()` gives the absolute directory to load either way (train, evaluate and chat call it).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import shutil
import time
from pathlib import Path
from typing import Any

from doppel import params as params_mod
from doppel.errors import InputError

OUT_DIR = Path("models/base")
DATA_DIR = Path("data/processed")
REQUIRED_FILES = ("lit_model.pth", "model_config.yaml", "tokenizer_config.json")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model")
BOS, EOS = "<s>", "</s>"

# Sized for the bundled sample on a 2-core CPU: the whole stage in well under a minute.
TINY_DEFAULTS: dict[str, Any] = {
    "seed": 1234,
    "vocab_size": 4096,
    "n_layer": 4,
    "n_embd": 128,
    "n_head": 4,
    "intermediate_size": 384,
    "block_size": 512,
    "pretrain_steps": 80,
    "pretrain_seq": 256,
    "pretrain_batch": 8,
    "pretrain_lr": 3.0e-3,
    "pretrain_warmup": 8,
}
DEFAULTS: dict[str, Any] = {"checkpoint_dir": "tiny", "tiny": TINY_DEFAULTS}


# ----------------------------------------------------------------------------------------------- params


def base_params(params: dict | None = None) -> dict[str, Any]:
    """The `base:` section with defaults filled in; accepts the whole params dict or the section itself."""
    if params is None:
        params = params_mod.load()
    if isinstance(params.get("base"), dict):
        section = params["base"]
    elif "checkpoint_dir" in params or "tiny" in params:
        section = params
    else:
        section = {}
    out = {**DEFAULTS, "checkpoint_dir": section.get("checkpoint_dir", DEFAULTS["checkpoint_dir"])}
    out["tiny"] = {**TINY_DEFAULTS, **(section.get("tiny") or {})}
    unknown = set(out["tiny"]) - set(TINY_DEFAULTS)
    if unknown:
        raise InputError("params.yaml", f"base.tiny: unknown keys {sorted(unknown)} (known: {sorted(TINY_DEFAULTS)})")
    return out


def is_tiny(params: dict | None = None) -> bool:
    return str(base_params(params)["checkpoint_dir"]).strip().lower() == "tiny"


def resolve_checkpoint(params: dict | None = None, out_dir: str | Path = OUT_DIR) -> Path:
    """Absolute path of the base checkpoint dir to load: models/base for `tiny`, else the user's checkpoint."""
    bp = base_params(params)
    if is_tiny(bp):
        return Path(out_dir).resolve()
    return Path(os.path.expanduser(str(bp["checkpoint_dir"]))).resolve()


def validate_checkpoint(path: Path, what: str = "base.checkpoint_dir") -> Path:
    """A clear InputError unless `path` is a litgpt checkpoint dir (weights, config, tokenizer)."""
    path = Path(path)
    if not path.is_dir():
        raise InputError(path, f"{what}: not a directory (expected a litgpt checkpoint, e.g. from "
                               "`litgpt download <repo>`, or `tiny`)")
    missing = [f for f in REQUIRED_FILES if not (path / f).is_file()]
    if not any((path / f).is_file() for f in TOKENIZER_FILES):
        missing.append(" or ".join(TOKENIZER_FILES))
    if missing:
        raise InputError(path, f"{what}: not a complete litgpt checkpoint, missing {', '.join(missing)}"
                               " (run `litgpt download <repo>`; a HF download needs `litgpt convert_to_litgpt`)")
    return path


# ----------------------------------------------------------------------------------------------- data


def read_rows(path: Path) -> list[dict]:
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "dataset file not found (run the build stage first: `dvc repro build`)")
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError(path, f"not valid JSON: {err}") from None
    if not isinstance(rows, list) or not all(isinstance(r, dict) and "instruction" in r and "output" in r for r in rows):
        raise InputError(path, "expected a JSON list of rows with 'instruction' and 'output'")
    return rows


def session_documents(rows: list[dict]) -> list[str]:
    """The chat text of every speaker, one document per session, without the rows' repeated contexts.

    Rows of one session share their context; each session's lines are kept once, in first-seen order, and
    the owner's reply closes each row's lines (it is the next line of the conversation)."""
    from doppel.prompt import OWNER_LABEL

    sessions: dict[Any, dict[str, None]] = {}
    for i, row in enumerate(rows):
        key = row["session"] if "session" in row else ("row", i)
        lines = sessions.setdefault(key, {})
        for line in f"{row['instruction']}\n{OWNER_LABEL}: {row['output']}".split("\n"):
            lines.setdefault(line, None)
    return ["\n".join(lines) for lines in sessions.values()]


# ----------------------------------------------------------------------------------------------- tiny model


def tiny_config(tp: dict[str, Any], vocab_size: int):
    from litgpt.config import Config

    return Config(
        name="doppel-tiny",
        block_size=int(tp["block_size"]),
        vocab_size=vocab_size,
        padded_vocab_size=vocab_size,
        n_layer=int(tp["n_layer"]),
        n_embd=int(tp["n_embd"]),
        n_head=int(tp["n_head"]),
        n_query_groups=int(tp["n_head"]),
        rotary_percentage=1.0,
        parallel_residual=False,
        bias=False,
        norm_class_name="RMSNorm",
        norm_eps=1e-5,
        mlp_class_name="LLaMAMLP",
        intermediate_size=int(tp["intermediate_size"]),
    )


def train_tokenizer(docs: list[str], vocab_size: int, out_dir: Path) -> None:
    """A byte-level BPE (every byte is in the alphabet, so any text encodes) + the files litgpt reads."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=[BOS, EOS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(docs, trainer=trainer)
    tok.save(str(out_dir / "tokenizer.json"))
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": BOS,
        "eos_token": EOS,
        "add_bos_token": True,
        "add_eos_token": False,
        "model_max_length": 1_000_000,
    }
    (out_dir / "tokenizer_config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")


def pretrain(model, docs: list[str], tokenizer, tp: dict[str, Any], log=print) -> dict[str, Any]:
    """Brief next-token pre-training on the documents, as one stream cut into fixed windows."""
    import torch

    stream: list[int] = []
    for doc in docs:
        stream += tokenizer.encode(doc, bos=True, eos=True).tolist()
    seq, batch, steps = int(tp["pretrain_seq"]), int(tp["pretrain_batch"]), int(tp["pretrain_steps"])
    seq = min(seq, model.config.block_size)
    n_windows = max(1, (len(stream) - 1) // seq)
    if len(stream) < seq + 1:
        stream = stream * (seq // max(1, len(stream)) + 2)
        n_windows = 1
    data = torch.tensor(stream[: n_windows * seq + 1], dtype=torch.long)
    gen = torch.Generator().manual_seed(int(tp["seed"]))
    opt = torch.optim.AdamW(model.parameters(), lr=float(tp["pretrain_lr"]), betas=(0.9, 0.95), weight_decay=0.0)
    warm = max(1, int(tp["pretrain_warmup"]))

    def lr_at(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, steps - warm)))

    order = torch.randperm(n_windows, generator=gen)
    losses: list[float] = []
    t0 = time.perf_counter()
    model.train()
    for step in range(steps):
        for g in opt.param_groups:
            g["lr"] = float(tp["pretrain_lr"]) * lr_at(step)
        idx = [int(order[(step * batch + b) % n_windows]) for b in range(batch)]
        x = torch.stack([data[i * seq: i * seq + seq] for i in idx])
        y = torch.stack([data[i * seq + 1: i * seq + seq + 1] for i in idx])
        logits = model(x)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
        if (step + 1) % max(1, steps // 8) == 0 or step + 1 == steps:
            el = time.perf_counter() - t0
            log(f"  pretrain step {step + 1}/{steps} | loss {loss.item():.3f} | "
                f"{(step + 1) * batch * seq / el:,.0f} tok/s | ETA {el / (step + 1) * (steps - step - 1):.0f}s")
    model.eval()
    return {
        "steps": steps,
        "tokens": steps * batch * seq,
        "corpus_tokens": len(stream),
        "loss_first": round(losses[0], 4) if losses else None,
        "loss_last": round(sum(losses[-5:]) / len(losses[-5:]), 4) if losses else None,
        "seconds": round(time.perf_counter() - t0, 2),
    }


def build_tiny(train_rows: list[dict], tp: dict[str, Any], out_dir: Path, log=print) -> dict[str, Any]:
    """Write a tiny litgpt checkpoint into out_dir (which must exist and be empty)."""
    import torch
    from litgpt.model import GPT
    from litgpt.tokenizer import Tokenizer
    from litgpt.utils import save_config

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    torch.manual_seed(int(tp["seed"]))
    docs = session_documents(train_rows)
    if not docs:
        raise InputError("train.json", "no rows to build the tiny base model from")
    t0 = time.perf_counter()
    train_tokenizer(docs, int(tp["vocab_size"]), out_dir)
    tokenizer = Tokenizer(out_dir)
    vocab = tokenizer.processor.get_vocab_size(with_added_tokens=True)
    config = tiny_config(tp, vocab)
    save_config(config, out_dir)
    log(f"  tokenizer: {vocab} tokens ({time.perf_counter() - t0:.1f}s); model: {config.n_layer} layers, "
        f"n_embd {config.n_embd}, block {config.block_size}")
    with torch.random.fork_rng():
        torch.manual_seed(int(tp["seed"]))
        model = GPT(config)
        model.apply(model._init_weights)
        stats = pretrain(model, docs, tokenizer, tp, log=log)
    state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    torch.save(state, out_dir / "lit_model.pth")
    stats["params"] = sum(p.numel() for p in model.parameters())
    stats["vocab_size"] = vocab
    stats["documents"] = len(docs)
    return stats


# ----------------------------------------------------------------------------------------------- external


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fingerprint(path: Path) -> dict[str, Any]:
    """What identifies a (large) checkpoint without hashing gigabytes: small files hashed, weights by size."""
    files = {}
    for f in sorted(path.iterdir()):
        if not f.is_file():
            continue
        size = f.stat().st_size
        files[f.name] = {"size": size, "sha256": sha256_file(f)} if size <= 16 << 20 else {"size": size}
    return files


# ----------------------------------------------------------------------------------------------- main


def run(params: dict | None = None, data_dir: Path = DATA_DIR, out_dir: Path = OUT_DIR, log=print) -> dict:
    bp = base_params(params)
    out_dir = Path(out_dir)
    if is_tiny(bp):
        rows = read_rows(Path(data_dir) / "train.json")
    else:
        ckpt = validate_checkpoint(resolve_checkpoint(bp))
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    t0 = time.perf_counter()
    try:
        if is_tiny(bp):
            log(f"doppel base: tiny model from {len(rows):,} train rows")
            stats = build_tiny(rows, bp["tiny"], tmp, log=log)
            info = {"kind": "tiny", "checkpoint_dir": ".", "tiny": bp["tiny"],
                    "params": stats["params"], "vocab_size": stats["vocab_size"],
                    "pretrain": {k: stats[k] for k in ("steps", "tokens", "corpus_tokens", "loss_first", "loss_last")}}
        else:
            log(f"doppel base: using the litgpt checkpoint {ckpt} (not copied)")
            info = {"kind": "external", "checkpoint_dir": str(ckpt), "files": fingerprint(ckpt)}
            stats = {}
        # base.json is deterministic (no timings): models/base is a DVC output and must not churn
        (tmp / "base.json").write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
        shutil.rmtree(out_dir, ignore_errors=True)
        os.replace(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    seconds = time.perf_counter() - t0
    if stats:
        log(f"doppel base: {stats['params']:,} params, pre-trained {stats['steps']} steps / {stats['tokens']:,} tokens "
            f"(loss {stats['loss_first']} -> {stats['loss_last']}) in {seconds:.1f}s -> {out_dir}")
    return {**info, "seconds": round(seconds, 2)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="doppel base", description=__doc__.split("\n\n")[0])
    ap.add_argument("--params", default=str(params_mod.PARAMS_FILE), help="params file (default: params.yaml)")
    ap.add_argument("--data", default=str(DATA_DIR), help="dir with train.json (default: data/processed)")
    ap.add_argument("--out", default=str(OUT_DIR), help="output dir (default: models/base)")
    args = ap.parse_args(argv)
    run(params_mod.load(path=args.params), Path(args.data), Path(args.out))
    return 0


if __name__ == "__main__":
    from doppel.cli import module_main

    module_main("base")
