"""The tiny offline base: a small litgpt model (RMSNorm, LLaMAMLP, RoPE) and a byte-level BPE trained with
`tokenizers` on the train split's text, saved as a valid litgpt checkpoint (lit_model.pth, model_config.yaml,
tokenizer.json, tokenizer_config.json), then briefly pre-trained on the text of every speaker so it knows the
language; the LoRA then learns the owner. Seeded and deterministic. Sized by `base.tiny` (a TinyConfig).
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from doppel.config import TinyConfig
from doppel.errors import InputError
from doppel.memory.block import remove
from doppel.prompt import OWNER_LABEL
from doppel.training.schedule import ADAMW_BETAS, lr_lambda

BOS, EOS = "<s>", "</s>"


def session_documents(rows: list[dict]) -> list[str]:
    """The chat text of every speaker, one document per session, without the rows' repeated contexts.

    Rows of one session share their context; each session's lines are kept once, in first-seen order, and
    the owner's reply closes each row's lines (it is the next line of the conversation). A row's memory block
    (its `memory`, doppel.memory.rows) is left out: it repeats earlier messages, out of the conversation's order."""
    sessions: dict[Any, dict[str, None]] = {}
    for i, row in enumerate(rows):
        key = row["session"] if "session" in row else ("row", i)
        lines = sessions.setdefault(key, {})
        context = remove(row["instruction"], row.get("memory", ""))
        for line in f"{context}\n{OWNER_LABEL}: {row['output']}".split("\n"):
            lines.setdefault(line, None)
    return ["\n".join(lines) for lines in sessions.values()]


def tiny_config(cfg: TinyConfig, vocab_size: int):
    """The litgpt Config of the tiny model (any object with TinyConfig's attributes will do)."""
    from litgpt.config import Config

    return Config(
        name="doppel-tiny",
        block_size=cfg.block_size,
        vocab_size=vocab_size,
        padded_vocab_size=vocab_size,
        n_layer=cfg.n_layer,
        n_embd=cfg.n_embd,
        n_head=cfg.n_head,
        n_query_groups=cfg.n_head,
        rotary_percentage=1.0,
        parallel_residual=False,
        bias=False,
        norm_class_name="RMSNorm",
        norm_eps=1e-5,
        mlp_class_name="LLaMAMLP",
        intermediate_size=cfg.intermediate_size,
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


def pretrain(model, docs: list[str], tokenizer, cfg: TinyConfig, log=print) -> dict[str, Any]:
    """Brief next-token pre-training on the documents, as one stream cut into fixed windows."""
    import torch

    stream: list[int] = []
    for doc in docs:
        stream += tokenizer.encode(doc, bos=True, eos=True).tolist()
    seq, batch, steps = cfg.pretrain_seq, cfg.pretrain_batch, cfg.pretrain_steps
    seq = min(seq, model.config.block_size)
    n_windows = max(1, (len(stream) - 1) // seq)
    if len(stream) < seq + 1:
        stream = stream * (seq // max(1, len(stream)) + 2)
        n_windows = 1
    data = torch.tensor(stream[: n_windows * seq + 1], dtype=torch.long)
    gen = torch.Generator().manual_seed(cfg.seed)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.pretrain_lr, betas=ADAMW_BETAS, weight_decay=0.0)
    lr_at = lr_lambda(cfg.pretrain_warmup, steps, "cosine", cfg.pretrain_min_lr_ratio)

    order = torch.randperm(n_windows, generator=gen)
    losses: list[float] = []
    t0 = time.perf_counter()
    model.train()
    for step in range(steps):
        for g in opt.param_groups:
            g["lr"] = cfg.pretrain_lr * lr_at(step)
        idx = [int(order[(step * batch + b) % n_windows]) for b in range(batch)]
        x = torch.stack([data[i * seq: i * seq + seq] for i in idx])
        y = torch.stack([data[i * seq + 1: i * seq + seq + 1] for i in idx])
        logits = model(x)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.pretrain_grad_clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.pretrain_grad_clip)
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


def build_tiny(train_rows: list[dict], cfg: TinyConfig, out_dir: Path, log=print) -> dict[str, Any]:
    """Write a tiny litgpt checkpoint into out_dir (which must exist and be empty)."""
    import torch
    from litgpt.model import GPT
    from litgpt.tokenizer import Tokenizer
    from litgpt.utils import save_config

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    torch.manual_seed(cfg.seed)
    docs = session_documents(train_rows)
    if not docs:
        raise InputError("train.json", "no rows to build the tiny base model from")
    t0 = time.perf_counter()
    train_tokenizer(docs, cfg.vocab_size, out_dir)
    tokenizer = Tokenizer(out_dir)
    vocab = tokenizer.processor.get_vocab_size(with_added_tokens=True)
    config = tiny_config(cfg, vocab)
    save_config(config, out_dir)
    log(f"  tokenizer: {vocab} tokens ({time.perf_counter() - t0:.1f}s); model: {config.n_layer} layers, "
        f"n_embd {config.n_embd}, block {config.block_size}")
    with torch.random.fork_rng():
        torch.manual_seed(cfg.seed)
        model = GPT(config)
        model.apply(model._init_weights)
        stats = pretrain(model, docs, tokenizer, cfg, log=log)
    state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    torch.save(state, out_dir / "lit_model.pth")
    stats["params"] = sum(p.numel() for p in model.parameters())
    stats["vocab_size"] = vocab
    stats["documents"] = len(docs)
    return stats
