"""`doppel train`: LoRA fine-tuning of the base model on the dataset -> models/adapter/.

Built from litgpt's blocks (litgpt.lora.GPT, mark_only_lora_as_trainable, lora_filter, chunked_cross_entropy)
and Lightning Fabric, not from litgpt's finetune_lora script, because this loop also:

- packs several rows into one sequence (padding-free) with a block-diagonal causal mask and RoPE positions
  restarting at every row, through litgpt's own Blocks (`forward`);
- computes the loss on the reply tokens only, and runs the LM head only where there is a target;
- resumes after a crash or kill -9 from its last checkpoint (LoRA weights, optimizer, scheduler, step, RNG;
  the data order is a pure function of the seed and the step), kept in models/train_state/ outside the DVC
  outputs and tied to a hash of the params, the data and the base, so a changed config starts fresh;
- logs loss, val_loss, lr, effective tokens/s and MFU to dvclive, prints progress and a one-screen summary;
- writes the adapter only (LoRA weights + configs), never a merged full copy of the model.

The adapter loads as: `config = litgpt.lora.Config.from_file(adapter/model_config.yaml)`,
`model = litgpt.lora.GPT(config)`, base lit_model.pth then adapter.pth (strict=False), `merge_lora_weights`.
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import math
import os
import random
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import torch

from doppel import params as params_mod
from doppel.errors import InputError

OUT_DIR = Path("models/adapter")
STATE_DIR = Path("models/train_state")
DATA_DIR = Path("data/processed")
LIVE_DIR = Path("dvclive")
# Throughput and MFU vary run to run: they live apart from the DVC-hashed outputs (declared as top-level
# metrics/plots in dvc.yaml), so `dvc repro -f` on the same inputs writes the same dvc.lock.
SPEED_DIR = Path("reports/train_speed")
# Summary keys that depend on the hardware and the moment, not on the inputs.
SPEED_KEYS = ("train_seconds", "tokens_per_s", "mfu", "peak_tflops", "peak_source", "peak_memory_gb",
              "seconds_total", "tokens_per_s_steady", "mfu_steady", "steady_steps")
IGNORE = -100
LORA_TARGETS = ("query", "key", "value", "projection", "mlp", "head")

DEFAULTS: dict[str, Any] = {
    "lora_r": 8,
    "lora_alpha": 16,
    "lora_dropout": 0.05,
    "lora_targets": ["query", "key", "value", "projection", "mlp", "head"],
    "lr": 4.0e-3,
    "min_lr_ratio": 0.1,
    "warmup_steps": 5,
    "schedule": "cosine",          # cosine | linear | constant (all after a linear warmup)
    "weight_decay": 0.0,
    "grad_clip": 1.0,
    "batch_size": 8,               # sequences per optimizer step (packed sequences when packing is on, else rows)
    "micro_batch_size": 4,         # sequences per forward/backward
    "epochs": 1,                   # passes over the train split (0: as many as max_steps takes)
    "max_steps": 60,               # > 0: stop there even within the epochs; 0: no limit
    "max_seq_length": 512,         # longer rows lose the oldest context (left of the prompt), never the reply
    "packing": True,
    "precision": "auto",           # auto: bf16-mixed on CUDA (frozen weights in bf16), 32-true on CPU
    "quantize": None,              # bnb.nf4 (CUDA + bitsandbytes) for QLoRA
    "devices": 1,
    "seed": 42,
    "eval_interval": 20,           # steps between val-loss checks (0: only before and after)
    "eval_max_rows": 100,          # rows for the interval checks (0: all); before/after always use all of val
    "checkpoint_interval": 10,     # steps between resume checkpoints (0: none)
    "log_interval": 10,            # steps between progress lines / dvclive points
    "peak_tflops": "auto",         # MFU denominator: auto = table on CUDA, measured matmul on CPU; or a number
    "compile": False,              # torch.compile the blocks (GPU only; off on CPU)
}
# These change what is logged, not what is learned: a run resumes across changes to them.
COSMETIC = {"eval_interval", "eval_max_rows", "checkpoint_interval", "log_interval", "peak_tflops"}

# Dense peak TFLOP/s by device name fragment (bf16/fp16 tensor cores; fp32 uses tf32 where it exists).
GPU_PEAK_TFLOPS = {  # name fragment, most specific first: (bf16, fp32/tf32)
    "H100 PCIe": (756.0, 378.0), "H100 NVL": (835.0, 418.0),
    "H200": (989.0, 494.0), "H100": (989.0, 494.0), "H800": (989.0, 494.0), "GH200": (989.0, 494.0),
    "B200": (2250.0, 1100.0), "A100": (312.0, 156.0), "A800": (312.0, 156.0), "L40S": (362.0, 183.0),
    "L40": (181.0, 90.5), "L4": (121.0, 60.0), "A10": (125.0, 62.5), "4090": (165.0, 82.6),
    "3090": (71.0, 35.6), "V100": (125.0, 15.7), "T4": (65.0, 8.1),
}


# ================================================================================================ params


def train_params(params: dict | None = None) -> dict[str, Any]:
    """The `train:` section with defaults, validated (InputError naming params.yaml on a bad value)."""
    if params is None:
        params = params_mod.load()
    section = params["train"] if isinstance(params.get("train"), dict) else (params if "lora_r" in params else {})
    unknown = set(section) - set(DEFAULTS)
    if unknown:
        raise InputError("params.yaml", f"train: unknown keys {sorted(unknown)}")
    tp = {**DEFAULTS, **section}
    for key, default in DEFAULTS.items():
        if isinstance(default, float) and isinstance(tp[key], str):
            try:
                tp[key] = float(tp[key])  # YAML 1.1 reads `2e-4` (no dot) as a string
            except ValueError:
                pass

    def bad(key: str, why: str):
        raise InputError("params.yaml", f"train.{key} = {tp[key]!r}: {why}")

    targets = tp["lora_targets"]
    if isinstance(targets, str):
        targets = [t.strip() for t in targets.split(",") if t.strip()]
    if not targets or any(t not in LORA_TARGETS for t in targets):
        bad("lora_targets", f"a non-empty list of {', '.join(LORA_TARGETS)}")
    tp["lora_targets"] = sorted(set(targets), key=LORA_TARGETS.index)
    for key in ("lora_r", "batch_size", "micro_batch_size", "max_seq_length", "devices"):
        if not isinstance(tp[key], int) or tp[key] < 1:
            bad(key, "a positive integer")
    for key in ("max_steps", "epochs", "warmup_steps", "eval_interval", "eval_max_rows", "checkpoint_interval",
                "log_interval", "seed"):
        if not isinstance(tp[key], int) or tp[key] < 0:
            bad(key, "a non-negative integer")
    if tp["max_steps"] == 0 and tp["epochs"] == 0:
        bad("epochs", "set epochs or max_steps")
    if tp["batch_size"] % tp["micro_batch_size"]:
        bad("batch_size", f"a multiple of micro_batch_size ({tp['micro_batch_size']})")
    if tp["schedule"] not in ("cosine", "linear", "constant"):
        bad("schedule", "cosine, linear or constant")
    if tp["precision"] not in ("auto", "32-true", "bf16-mixed", "bf16-true", "16-mixed", "16-true"):
        bad("precision", "auto, 32-true, bf16-mixed, bf16-true, 16-mixed or 16-true")
    if tp["quantize"] not in (None, "bnb.nf4", "bnb.nf4-dq", "bnb.fp4", "bnb.fp4-dq"):
        bad("quantize", "null or bnb.nf4 (also bnb.nf4-dq, bnb.fp4, bnb.fp4-dq)")
    if not (tp["peak_tflops"] == "auto" or (isinstance(tp["peak_tflops"], (int, float)) and tp["peak_tflops"] > 0)):
        bad("peak_tflops", "auto or a positive number")
    for key in ("lr", "lora_alpha"):
        if not isinstance(tp[key], (int, float)) or tp[key] <= 0:
            bad(key, "a positive number")
    if not 0 <= float(tp["lora_dropout"]) < 1:
        bad("lora_dropout", "in [0, 1)")
    return tp


def lora_kwargs(tp: dict[str, Any]) -> dict[str, Any]:
    return {
        "lora_r": int(tp["lora_r"]),
        "lora_alpha": tp["lora_alpha"],
        "lora_dropout": float(tp["lora_dropout"]),
        **{f"lora_{t}": t in tp["lora_targets"] for t in LORA_TARGETS},
    }


# ================================================================================================ data


@dataclass
class Example:
    ids: list[int]   # prompt + reply tokens (after the left cut)
    n_prompt: int    # how many of `ids` are prompt (no loss there)

    @property
    def n_inputs(self) -> int:  # positions fed to the model: the last token is only a target
        return len(self.ids) - 1


def encode_row(tokenizer, instruction: str, output: str, max_seq_length: int) -> tuple[Example | None, bool]:
    """One row as in stages.prompt: encode(prompt, bos) + encode(reply, eos). An over-long row loses its oldest
    prompt tokens (those right after BOS), never the reply: (example, was_cut); (None, False) when the reply
    alone does not fit."""
    from doppel.prompt import prompt_and_response

    prompt, target = prompt_and_response(instruction, output)
    p = tokenizer.encode(prompt, bos=True).tolist()
    t = tokenizer.encode(target, bos=False, eos=True).tolist()
    if len(t) + 2 > max_seq_length:
        return None, False
    excess = len(p) + len(t) - max_seq_length
    if excess > 0:
        has_bos = tokenizer.bos_id is not None and p and p[0] == tokenizer.bos_id
        p = p[:1] + p[1 + excess:] if has_bos else p[excess:]
    return Example(p + t, len(p)), excess > 0


def encode_rows(tokenizer, rows: list[dict], max_seq_length: int) -> tuple[list[Example], dict[str, int]]:
    examples, cut, dropped = [], 0, 0
    for row in rows:
        ex, was_cut = encode_row(tokenizer, row["instruction"], row["output"], max_seq_length)
        if ex is None:
            dropped += 1
            continue
        cut += was_cut
        examples.append(ex)
    return examples, {"rows": len(rows), "kept": len(examples), "cut_left": cut, "dropped_long_reply": dropped}


def pack(lengths: list[int], capacity: int, rng: random.Random | None = None) -> list[list[int]]:
    """Best-fit decreasing bin packing of item lengths into bins of `capacity`. Deterministic; `rng` shuffles
    the items first, so that equal lengths meet different neighbours from one epoch to the next."""
    order = list(range(len(lengths)))
    if rng is not None:
        rng.shuffle(order)
    order.sort(key=lambda i: -lengths[i])
    free: list[list[int]] = [[] for _ in range(capacity + 1)]  # free[c]: bins with exactly c free slots
    bins: list[list[int]] = []
    room: list[int] = []
    for i in order:
        n = lengths[i]
        if n > capacity:
            raise ValueError(f"item {i} of length {n} exceeds capacity {capacity}")
        c = n
        while c <= capacity and not free[c]:
            c += 1
        if c <= capacity:
            b = free[c].pop()
        else:
            b = len(bins)
            bins.append([])
            room.append(capacity)
        bins[b].append(i)
        room[b] -= n
        free[room[b]].append(b)
    return bins


def make_plan(lengths: list[int], tp: dict[str, Any], seq_len: int) -> list[list[list[int]]]:
    """The whole run's data order: steps -> sequences (bins) -> row indices. A pure function of the lengths
    and the params, so a resumed run continues from exactly where the killed one stopped."""
    if not lengths:
        return []
    sequences: list[list[int]] = []
    epochs = tp["epochs"] or 10**9  # epochs 0: as many as max_steps needs
    bs = tp["batch_size"]
    for epoch in range(epochs):
        rng = random.Random(tp["seed"] * 1_000_003 + epoch)
        if tp["packing"]:
            bins = pack(lengths, seq_len, rng)
            rng.shuffle(bins)
            for b in bins:
                rng.shuffle(b)
        else:
            bins = [[i] for i in range(len(lengths))]
            rng.shuffle(bins)
        sequences += bins
        if tp["max_steps"] and len(sequences) >= tp["max_steps"] * bs:
            break
    steps = [sequences[i:i + bs] for i in range(0, len(sequences), bs)]
    return steps[: tp["max_steps"]] if tp["max_steps"] else steps


def collate(examples: list[Example], seqs: list[list[int]], pad_id: int = 0, packed: bool = True) -> dict:
    """Sequences of rows -> tensors: idx, targets (-100 off the replies), pos (restarting per row), doc (row
    number inside the sequence, -1 on padding). Padding goes at the end, to the longest sequence."""
    import torch

    T = max(sum(examples[i].n_inputs for i in s) for s in seqs)
    B = len(seqs)
    idx = torch.full((B, T), pad_id, dtype=torch.long)
    tgt = torch.full((B, T), IGNORE, dtype=torch.long)
    pos = torch.zeros((B, T), dtype=torch.long)
    doc = torch.full((B, T), -1, dtype=torch.long)
    lengths: list[int] = []
    for b, s in enumerate(seqs):
        at = 0
        for d, i in enumerate(s):
            ex = examples[i]
            n = ex.n_inputs
            ids = torch.tensor(ex.ids, dtype=torch.long)
            idx[b, at:at + n] = ids[:-1]
            y = ids[1:].clone()
            y[: max(0, ex.n_prompt - 1)] = IGNORE  # targets j predict token j+1: the reply starts at n_prompt
            tgt[b, at:at + n] = y
            pos[b, at:at + n] = torch.arange(n)
            doc[b, at:at + n] = d
            at += n
            lengths.append(n)
    out = {"idx": idx, "targets": tgt, "lengths": lengths, "tokens": sum(lengths)}
    if packed and any(len(s) > 1 for s in seqs):
        out["pos"], out["doc"] = pos, doc
    return out


# ================================================================================================ model


def packed_mask(doc, window: int | None = None):
    """Block-diagonal causal mask (B, 1, T, T), True = may attend: same row and not in the future."""
    import torch

    T = doc.size(1)
    i = torch.arange(T, device=doc.device)
    causal = i[:, None] >= i[None, :]
    if window is not None:
        causal = causal & (i[:, None] - i[None, :] < window)
    return ((doc[:, :, None] == doc[:, None, :]) & causal).unsqueeze(1)


@contextlib.contextmanager
def _no_builtin_window(attn):
    saved = attn.apply_sliding_window_attention
    attn.apply_sliding_window_attention = False
    try:
        yield
    finally:
        attn.apply_sliding_window_attention = saved


def forward(model, idx, pos=None, doc=None, select=None):
    """litgpt GPT forward through its own Blocks, with packed rows kept apart.

    pos (B, T): RoPE position of every token (restarting at each row); doc (B, T): row id per token; without
    them this is the plain causal forward (SDPA is_causal). select (B, T) bool: run ln_f/lm_head only there
    and return (N, vocab) logits; else (B, T, vocab)."""
    import torch

    cfg = model.config
    T = idx.size(1)
    if T > model.max_seq_length:
        raise ValueError(f"sequence of {T} tokens > max_seq_length {model.max_seq_length}")
    if pos is None:
        cos, sin = model.cos[:T].unsqueeze(0), model.sin[:T].unsqueeze(0)
    else:
        cos, sin = model.cos[pos], model.sin[pos]
    mask = None
    if doc is not None:
        mask = packed_mask(doc)
        if cfg.attention_logit_softcapping is not None:  # that path adds the mask to the scores
            mask = torch.zeros(mask.shape, dtype=torch.float32, device=mask.device).masked_fill(~mask, float("-inf"))
    x = model.transformer.wte(idx)
    if cfg.scale_embeddings:
        x = x * torch.tensor(cfg.n_embd**0.5, dtype=x.dtype)
    for block_idx, block in enumerate(model.transformer.h):
        c, s = cos, sin
        if cfg.rope_indices is not None:
            c, s = cos[..., cfg.rope_indices[block_idx]], sin[..., cfg.rope_indices[block_idx]]
        windowed = getattr(block.attn, "apply_sliding_window_attention", False)
        if doc is not None and windowed:
            m = packed_mask(doc, cfg.sliding_window_size)
            if mask.dtype != torch.bool:
                m = torch.zeros(m.shape, dtype=torch.float32, device=m.device).masked_fill(~m, float("-inf"))
            with _no_builtin_window(block.attn):
                x = block(x, c, s, m)
        else:
            x = block(x, c, s, mask)
    if select is not None:
        x = x[select]
    x = model.transformer.ln_f(x)
    logits = model.lm_head(x)
    if cfg.final_logit_softcapping is not None:
        logits = torch.tanh(logits / cfg.final_logit_softcapping) * cfg.final_logit_softcapping
    return logits


class PackedLM(torch.nn.Module):
    """Wraps litgpt.lora.GPT so Fabric/DDP see one module whose forward is the packed one."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, idx, pos=None, doc=None, select=None):
        return forward(self.model, idx, pos, doc, select)


def batch_loss(module, batch: dict, device, chunk: int = 0):
    """Mean cross entropy over the batch's target tokens (chunked_cross_entropy), and their count."""
    from litgpt.utils import chunked_cross_entropy

    n = int((batch["targets"] != IGNORE).sum())  # counted on the CPU copy: no device sync
    if n == 0:
        return None, 0
    tgt = batch["targets"].to(device, non_blocking=True)
    select = tgt != IGNORE
    kw = {k: batch[k].to(device) for k in ("pos", "doc") if k in batch}
    logits = module(batch["idx"].to(device), select=select, **kw)
    return chunked_cross_entropy(logits, tgt[select], chunk_size=chunk), n


def resolve_precision(tp: dict[str, Any], cuda: bool, bf16: bool | None = None) -> str:
    if tp["precision"] != "auto":
        return tp["precision"]
    if not cuda:
        return "32-true"
    if bf16 is None:
        import torch

        bf16 = torch.cuda.is_bf16_supported()  # not on T4/V100: fp16 there
    if tp["quantize"]:
        return "bf16-true" if bf16 else "16-true"
    return "bf16-mixed" if bf16 else "16-mixed"


def check_quantize(tp: dict[str, Any]) -> None:
    import torch

    if not tp["quantize"]:
        return
    if not torch.cuda.is_available():
        raise InputError("params.yaml", f"train.quantize = {tp['quantize']}: needs a CUDA GPU (none found); "
                                        "set train.quantize: null to train unquantized")
    try:
        import bitsandbytes  # noqa: F401
    except ImportError:
        raise InputError("params.yaml", f"train.quantize = {tp['quantize']}: bitsandbytes is not installed "
                                        "(pip install bitsandbytes), or set train.quantize: null") from None


def make_fabric(tp: dict[str, Any]):
    import lightning as L
    import torch

    cuda = torch.cuda.is_available()
    check_quantize(tp)
    precision = resolve_precision(tp, cuda)
    if cuda:
        torch.set_float32_matmul_precision("high")  # TF32 for fp32 matmuls: the fp32 peak in GPU_PEAK_TFLOPS
    if not cuda and precision != "32-true":
        print(f"doppel train: note: precision {precision} on CPU is slower than 32-true", file=sys.stderr)
    plugins = None
    if tp["quantize"]:
        from lightning.fabric.plugins import BitsandbytesPrecision

        if "mixed" in precision:
            raise InputError("params.yaml", "train.quantize needs a -true precision (bf16-true), not " + precision)
        dtype = {"16-true": torch.float16, "bf16-true": torch.bfloat16, "32-true": torch.float32}[precision]
        plugins = BitsandbytesPrecision(tp["quantize"][4:], dtype)
        fabric = L.Fabric(devices=tp["devices"], accelerator="cuda", plugins=plugins)
    else:
        fabric = L.Fabric(devices=tp["devices"], accelerator="cuda" if cuda else "cpu", precision=precision)
    if tp["devices"] > 1:
        fabric.launch()
    return fabric, precision


@contextlib.contextmanager
def _default_dtype(dtype):
    saved = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(saved)


def build_model(fabric, config, checkpoint: Path | None, tp: dict[str, Any], precision: str):
    """litgpt.lora.GPT with the base weights loaded and only LoRA trainable. Under bf16-mixed on CUDA the
    frozen weights are created and kept in bf16 (half the memory, no per-step casts); LoRA weights stay fp32."""
    from litgpt.lora import GPT, LoRALinear, mark_only_lora_as_trainable

    frozen_bf16 = precision == "bf16-mixed" and fabric.device.type == "cuda"
    with _default_dtype(torch.bfloat16) if frozen_bf16 else contextlib.nullcontext():
        with fabric.init_module(empty_init=checkpoint is not None):
            model = GPT(config)
    model.max_seq_length = min(tp["max_seq_length"], config.block_size)
    fabric.seed_everything(tp["seed"])
    for m in model.modules():  # LoRA init after empty_init: the same with and without it
        if isinstance(m, LoRALinear) and hasattr(m, "lora_A"):
            if frozen_bf16:
                m.lora_A.data, m.lora_B.data = m.lora_A.data.float(), m.lora_B.data.float()
            m.reset_parameters()
    mark_only_lora_as_trainable(model)
    if checkpoint is not None and not tp["quantize"]:
        load_base_weights(model, checkpoint)
    if tp["compile"]:
        if fabric.device.type != "cuda":
            print("doppel train: note: train.compile is ignored on CPU", file=sys.stderr)
        else:
            for block in model.transformer.h:
                block.compile()
    return model


def load_base_weights(model, checkpoint: Path) -> None:
    import torch

    state = torch.load(checkpoint, mmap=True, weights_only=True, map_location="cpu")
    state = state.get("model", state)
    result = model.load_state_dict(state, strict=False)
    missing = [k for k in result.missing_keys if "lora_" not in k and k.endswith((".weight", ".bias"))]
    if missing:
        raise InputError(checkpoint, f"base weights do not match model_config.yaml: missing {missing[:4]}...")


def flop_counter(model):
    """f(lengths, n_targets) -> training FLOPs of rows with these input lengths: per token 4 x frozen params
    (forward + input grads; no embedding lookup) + 6 x LoRA params, + causal attention 12 * n_layer * d_attn *
    (L+1)/2 per token of a row of L tokens (QK^T and AV forward, x3 for training). The LM head counts only at
    the `n_targets` reply positions where this loop runs it (at every position when n_targets is None)."""
    n_lora, n_frozen, n_head, n_head_lora, n_first_attn = 0, 0, 0, 0, 0
    for name, p in model.named_parameters():
        n = p.numel() if not hasattr(p, "quant_state") else math.prod(p.quant_state.shape)
        if p.requires_grad and name.startswith("lm_head"):
            n_head_lora += n
        elif p.requires_grad:
            n_lora += n
        elif name.startswith("lm_head"):
            n_head += n
        elif "transformer.wte" not in name:
            n_frozen += n
            if name.startswith("transformer.h.0.attn.qkv.") and name.endswith("weight"):
                n_first_attn += n  # its input (the embeddings) needs no gradient: backward skips 2 x these
    cfg = model.config
    attn = 12 * cfg.n_layer * cfg.n_head * cfg.head_size

    def count(lengths: Iterable[int], n_targets: int | None = None) -> float:
        lengths = list(lengths)
        tokens = sum(lengths)
        heads = tokens if n_targets is None else n_targets
        return float(tokens * (4 * n_frozen - 2 * n_first_attn + 6 * n_lora) + (4 * n_head + 6 * n_head_lora) * heads
                     + sum(attn * L * (L + 1) / 2 for L in lengths))

    return count


def measure_cpu_peak(seconds: float = 0.6) -> float:
    """FLOP/s of fp32 matmuls on this CPU (the best of several sizes and tries), the MFU denominator on CPU."""
    import torch

    best = 0.0
    for n in (512, 1024):
        a, b = torch.randn(n, n), torch.randn(n, n)
        a @ b
        t_end = time.perf_counter() + seconds / 2
        while time.perf_counter() < t_end:
            t0 = time.perf_counter()
            for _ in range(4):
                a @ b
            best = max(best, 4 * 2 * n**3 / (time.perf_counter() - t0))
    return best


def peak_flops(device, precision: str, override: Any = "auto") -> tuple[float, str]:
    """(peak FLOP/s, where it comes from)."""
    import torch

    if override != "auto":
        return float(override) * 1e12, "params"
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        for frag, (half, fp32) in GPU_PEAK_TFLOPS.items():
            if frag in name:
                tf = fp32 if precision == "32-true" else half
                return tf * 1e12, f"table ({name}, {'fp32/tf32' if precision == '32-true' else 'bf16'} dense)"
        return 0.0, f"unknown GPU {name}: set train.peak_tflops"
    return measure_cpu_peak(), f"measured fp32 matmul ({torch.get_num_threads()} threads)"


def lr_lambda(tp: dict[str, Any], total_steps: int):
    warm, floor = tp["warmup_steps"], float(tp["min_lr_ratio"])

    def f(step: int) -> float:
        if step < warm:
            return (step + 1) / (warm + 1)
        if tp["schedule"] == "constant":
            return 1.0
        frac = min(1.0, (step - warm) / max(1, total_steps - warm))
        shape = 0.5 * (1 + math.cos(math.pi * frac)) if tp["schedule"] == "cosine" else 1 - frac
        return floor + (1 - floor) * shape

    return f


# ================================================================================================ resume state


def run_key(tp: dict[str, Any], train_file: Path, base_dir: Path) -> str:
    """What a resume checkpoint is valid for: learning params + training data + base model."""
    from doppel.base import fingerprint, sha256_file

    payload = {
        "train": {k: v for k, v in sorted(tp.items()) if k not in COSMETIC},
        "data": sha256_file(train_file),
        "base": fingerprint(base_dir),
        "version": 1,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def save_state(state_dir: Path, state: dict) -> None:
    """Atomic: a kill at any moment leaves the previous complete checkpoint."""
    import torch

    state_dir.mkdir(parents=True, exist_ok=True)
    tmp = state_dir / "state.pt.tmp"
    with open(tmp, "wb") as fh:
        torch.save(state, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, state_dir / "state.pt")
    info = {"key": state["key"], "step": state["step"], "total_steps": state["total_steps"]}
    tmpj = state_dir / "state.json.tmp"
    tmpj.write_text(json.dumps(info, indent=2) + "\n")
    os.replace(tmpj, state_dir / "state.json")


def load_state(state_dir: Path, key: str, log=print) -> dict | None:
    import torch

    path = state_dir / "state.pt"
    if not path.is_file():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # a corrupt file cannot be resumed from; start over
        log(f"doppel train: ignoring unreadable checkpoint {path} ({err.__class__.__name__})")
        return None
    if state.get("key") != key:
        log("doppel train: params, data or base changed since the last checkpoint: starting fresh")
        return None
    return state


def rng_state() -> dict:
    import numpy as np
    import torch

    out = {"torch": torch.get_rng_state(), "python": random.getstate(), "numpy": np.random.get_state()}
    if torch.cuda.is_available():
        out["cuda"] = torch.cuda.get_rng_state_all()
    return out


def set_rng_state(s: dict) -> None:
    import numpy as np
    import torch

    torch.set_rng_state(s["torch"])
    random.setstate(s["python"])
    np.random.set_state(s["numpy"])
    if "cuda" in s and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(s["cuda"])


# ================================================================================================ loop


def _sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def evaluate(module, fabric, examples: list[Example], tp: dict[str, Any], seq_len: int, max_rows: int = 0) -> float:
    """Token-mean loss on the replies of `examples` (packed the same way as training)."""
    import torch

    if not examples:
        return float("nan")
    if max_rows and len(examples) > max_rows:
        examples = examples[:max_rows]
    lengths = [e.n_inputs for e in examples]
    seqs = pack(lengths, seq_len) if tp["packing"] else [[i] for i in range(len(examples))]
    was_training = module.training
    module.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(seqs), tp["micro_batch_size"]):
            batch = collate(examples, seqs[i:i + tp["micro_batch_size"]], packed=tp["packing"])
            loss, n = batch_loss(module, batch, fabric.device)
            if n:
                total += float(loss) * n
                count += n
    module.train(was_training)
    return total / max(1, count)


def _quiet(*args, **kwargs) -> None:
    pass


class _NoLive:
    """dvclive's Live for ranks other than 0: takes the same calls, writes nothing."""

    def __init__(self):
        self.step, self.summary = 0, {}

    def __getattr__(self, name):
        return _quiet


def _fmt_time(s: float) -> str:
    s = int(max(0, s))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def run(
    params: dict | None = None,
    data_dir: Path = DATA_DIR,
    base_dir: Path | None = None,
    out_dir: Path = OUT_DIR,
    state_dir: Path = STATE_DIR,
    live_dir: Path = LIVE_DIR,
    log=print,
    speed_dir: Path = SPEED_DIR,
) -> dict[str, Any]:
    import torch
    from litgpt.lora import Config, lora_filter
    from litgpt.prompts import save_prompt_style
    from litgpt.tokenizer import Tokenizer
    from litgpt.utils import save_config

    from doppel.base import is_tiny, read_rows, resolve_checkpoint, validate_checkpoint
    from doppel.prompt import TwinChat

    t_start = time.perf_counter()
    params = params_mod.load() if params is None else params
    tp = train_params(params)
    base_dir = Path(base_dir).resolve() if base_dir is not None else resolve_checkpoint(params)
    if not (base_dir / "model_config.yaml").exists() and is_tiny(params):
        raise InputError(base_dir, "no base model here yet: run `doppel base` (or `dvc repro base`) first")
    validate_checkpoint(base_dir, "base checkpoint")
    data_dir, out_dir, state_dir = Path(data_dir), Path(out_dir), Path(state_dir)
    train_rows = read_rows(data_dir / "train.json")
    val_rows = read_rows(data_dir / "val.json") if (data_dir / "val.json").is_file() else []

    config = Config.from_file(base_dir / "model_config.yaml", **lora_kwargs(tp))
    if tp["max_seq_length"] > config.block_size:
        raise InputError("params.yaml", f"train.max_seq_length {tp['max_seq_length']} > the base model's "
                                        f"block_size {config.block_size}")
    seq_len = tp["max_seq_length"]
    tokenizer = Tokenizer(base_dir)
    train_ex, stats = encode_rows(tokenizer, train_rows, seq_len)
    val_ex, vstats = encode_rows(tokenizer, val_rows, seq_len)
    if not train_ex:
        raise InputError(data_dir / "train.json", "no usable rows (all replies longer than train.max_seq_length?)")
    plan = make_plan([e.n_inputs for e in train_ex], tp, seq_len)
    total_steps = len(plan)

    fabric, precision = make_fabric(tp)
    if fabric.global_rank != 0:  # one rank reports, logs and writes; the others only train
        log = _quiet
    key = run_key(tp, data_dir / "train.json", base_dir)
    model = build_model(fabric, config, base_dir / "lit_model.pth", tp, precision)
    wrapper = PackedLM(model)
    module = fabric.setup_module(wrapper)
    if tp["quantize"]:
        load_base_weights(model, base_dir / "lit_model.pth")
    trainable = [p for p in model.parameters() if p.requires_grad]
    if tp["quantize"]:
        from litgpt.utils import instantiate_bnb_optimizer

        optimizer = instantiate_bnb_optimizer({"class_path": "torch.optim.AdamW", "init_args": {
            "lr": tp["lr"], "weight_decay": tp["weight_decay"], "betas": (0.9, 0.95)}}, trainable)
    else:
        optimizer = torch.optim.AdamW(trainable, lr=tp["lr"], weight_decay=tp["weight_decay"], betas=(0.9, 0.95))
    optimizer = fabric.setup_optimizers(optimizer)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda(tp, total_steps))

    n_lora = sum(p.numel() for p in trainable)
    count_flops = flop_counter(model)
    peak, peak_src = peak_flops(fabric.device, precision, tp["peak_tflops"])
    log(f"doppel train: {len(train_ex):,} train rows ({stats['cut_left']} cut on the left, "
        f"{stats['dropped_long_reply']} dropped: reply > max_seq_length), {len(val_ex):,} val rows")
    log(f"  base {base_dir} | LoRA r={tp['lora_r']} alpha={tp['lora_alpha']} on {','.join(tp['lora_targets'])}: "
        f"{n_lora:,} trainable params | {fabric.device.type} {precision} | packing {'on' if tp['packing'] else 'off'} "
        f"| {total_steps} steps x {tp['batch_size']} seqs of <= {seq_len}")

    start_step, history, tokens_done, train_time, flops_done = 0, [], 0, 0.0, 0.0
    val_before = None
    state = load_state(state_dir, key, log)
    if state is not None:
        model.load_state_dict(state["lora"], strict=False)
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        set_rng_state(state["rng"])
        start_step, history = state["step"], state["history"]
        tokens_done, train_time, flops_done = state["tokens"], state["train_time"], state["flops"]
        val_before = state["val_before"]
        log(f"doppel train: resuming from the checkpoint at step {start_step}/{total_steps} ({state_dir})")
    elif (state_dir / "state.pt").exists():
        (state_dir / "state.pt").unlink()

    from dvclive import Live

    if fabric.global_rank == 0:
        live = Live(str(live_dir), dvcyaml=False, save_dvc_exp=False, report=None)
        speed = Live(str(speed_dir), dvcyaml=False, save_dvc_exp=False, report=None)
    else:
        live, speed = _NoLive(), _NoLive()
    for rec in history:  # DVC removed the old plots: write the resumed run's history back
        live.step = rec["step"]
        for k, v in rec["metrics"].items():
            live.log_metric(k, v)

    def log_metrics(step: int, metrics: dict[str, float]) -> None:
        history.append({"step": step, "metrics": metrics})
        live.step = step
        for k, v in metrics.items():
            live.log_metric(k, v)
        live.make_summary()

    if val_before is None:
        t0 = time.perf_counter()
        val_before = evaluate(module, fabric, val_ex, tp, seq_len)
        log(f"  val loss before: {val_before:.4f} ({time.perf_counter() - t0:.1f}s)")
        log_metrics(0, {"val_loss": val_before})

    module.train()
    rank, world = fabric.global_rank, fabric.world_size
    chunk = 128 if fabric.device.type == "cuda" else 0
    win_tokens, win_time, win_flops = 0, 0.0, 0.0
    this_run: list[tuple[int, float, float]] = []  # (tokens, flops, seconds) per step of this process
    for step in range(start_step, total_steps):
        _sync(fabric.device)
        t0 = time.perf_counter()
        seqs = plan[step][rank::world]
        # fewer packed sequences than ranks this step: an idle rank still runs one (weighted 0), or DDP's
        # gradient all-reduce would wait for it forever
        idle = not seqs
        seqs = seqs or plan[step][:1]
        micro = [seqs[i:i + tp["micro_batch_size"]] for i in range(0, len(seqs), tp["micro_batch_size"])]
        batches = [collate(train_ex, m, pad_id=0, packed=tp["packing"]) for m in micro]
        n_step = 0 if idle else sum(int((b["targets"] != IGNORE).sum()) for b in batches)
        step_loss = torch.zeros((), device=fabric.device)
        for j, batch in enumerate(batches):
            with fabric.no_backward_sync(module, enabled=j < len(batches) - 1):
                loss, n = batch_loss(module, batch, fabric.device, chunk)
                if loss is None:
                    continue
                weight = n / n_step if n_step else 0.0
                fabric.backward(loss * weight)
            step_loss += loss.detach() * weight
        if tp["grad_clip"]:
            fabric.clip_gradients(module, optimizer, max_norm=float(tp["grad_clip"]))
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        scheduler.step()
        lengths = [] if idle else [n for b in batches for n in b["lengths"]]
        n_tok = sum(lengths) * world
        flops = count_flops(lengths, n_step) * world
        _sync(fabric.device)
        dt = time.perf_counter() - t0
        tokens_done += n_tok
        flops_done += flops
        train_time += dt
        this_run.append((n_tok, flops, dt))
        win_tokens += n_tok
        win_time += dt
        win_flops += flops
        done = step + 1
        if done % max(1, tp["log_interval"]) == 0 or done == total_steps:
            tps = win_tokens / max(win_time, 1e-9)
            mfu = win_flops / max(win_time, 1e-9) / peak if peak else 0.0
            lr = scheduler.get_last_lr()[0]
            eta = sum(t for _, _, t in this_run) / len(this_run) * (total_steps - done)
            log(f"  step {done}/{total_steps} | loss {float(step_loss):.4f} | lr {lr:.2e} | {tps:,.0f} tok/s | "
                f"MFU {100 * mfu:.2f}% | ETA {_fmt_time(eta)}")
            log_metrics(done, {"loss": float(step_loss), "lr": lr})
            speed.step = done
            speed.log_metric("tokens_per_s", tps)
            speed.log_metric("mfu", mfu)
            win_tokens, win_time, win_flops = 0, 0.0, 0.0
        if tp["eval_interval"] and done % tp["eval_interval"] == 0 and done < total_steps:
            last_val = evaluate(module, fabric, val_ex, tp, seq_len, tp["eval_max_rows"])
            log(f"  step {done}: val loss {last_val:.4f}" + (f" (first {tp['eval_max_rows']} rows)"
                                                              if tp["eval_max_rows"] else ""))
            log_metrics(done, {"val_loss": last_val})
        if tp["checkpoint_interval"] and done % tp["checkpoint_interval"] == 0 and done < total_steps:
            if fabric.global_rank == 0:
                save_state(state_dir, {
                    "key": key, "step": done, "total_steps": total_steps,
                    "lora": {k: v.detach().cpu() for k, v in model.state_dict().items() if lora_filter(k, v)},
                    "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "rng": rng_state(),
                    "history": history, "tokens": tokens_done, "train_time": train_time, "flops": flops_done,
                    "val_before": val_before,
                })
            fabric.barrier()

    val_after = evaluate(module, fabric, val_ex, tp, seq_len)
    log_metrics(total_steps, {"val_loss": val_after})

    tps = tokens_done / max(train_time, 1e-9)
    mfu = flops_done / max(train_time, 1e-9) / peak if peak else 0.0
    summary = {
        "steps": total_steps,
        "resumed_from_step": start_step,
        "rows": {"train": len(train_ex), "val": len(val_ex), "cut_left": stats["cut_left"] + vstats["cut_left"],
                 "dropped_long_reply": stats["dropped_long_reply"] + vstats["dropped_long_reply"]},
        "tokens": tokens_done,
        "train_seconds": round(train_time, 2),
        "tokens_per_s": round(tps, 1),
        "mfu": round(mfu, 5),
        **steady_rates(this_run, peak),
        "peak_tflops": round(peak / 1e12, 3),
        "peak_source": peak_src,
        "val_loss_before": round(val_before, 5),
        "val_loss_after": round(val_after, 5),
        "lora_params": n_lora,
        "precision": precision,
        "device": fabric.device.type,
        "packing": tp["packing"],
    }
    if fabric.device.type == "cuda":
        summary["peak_memory_gb"] = round(torch.cuda.max_memory_allocated() / 1e9, 2)
    for k in ("val_loss_before", "val_loss_after", "tokens"):
        live.summary[k] = summary[k]
    live.end()
    for k in SPEED_KEYS:
        if k in summary:
            speed.summary[k] = summary[k]
    speed.make_summary()
    speed.end()

    if fabric.global_rank == 0:
        tmp = out_dir.with_name(out_dir.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        lora_state = {k: v.detach().float().cpu().contiguous() for k, v in model.state_dict().items()
                      if lora_filter(k, v)}
        torch.save(lora_state, tmp / "adapter.pth")
        save_config(config, tmp)
        save_prompt_style(TwinChat(), tmp)
        deterministic = {k: v for k, v in summary.items() if k not in SPEED_KEYS}
        (tmp / "train.json").write_text(json.dumps(deterministic, indent=2, sort_keys=True) + "\n")
        shutil.rmtree(out_dir, ignore_errors=True)
        os.replace(tmp, out_dir)
        with contextlib.suppress(FileNotFoundError):  # finished: nothing to resume
            (state_dir / "state.pt").unlink()
        state_dir.mkdir(parents=True, exist_ok=True)
        (state_dir / "state.json").write_text(json.dumps(
            {"key": key, "step": total_steps, "total_steps": total_steps, "finished": True}, indent=2) + "\n")
    fabric.barrier()
    summary["seconds_total"] = round(time.perf_counter() - t_start, 2)
    log(render_summary(summary, out_dir))
    return summary


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


def render_summary(s: dict[str, Any], out_dir: Path) -> str:
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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="doppel train", description=__doc__.split("\n\n")[0])
    ap.add_argument("--params", default=str(params_mod.PARAMS_FILE), help="params file (default: params.yaml)")
    ap.add_argument("--data", default=str(DATA_DIR), help="dir with train.json and val.json")
    ap.add_argument("--base", default=None, help="base checkpoint dir (default: from base.checkpoint_dir)")
    ap.add_argument("--out", default=str(OUT_DIR), help="adapter output dir (default: models/adapter)")
    ap.add_argument("--state", default=str(STATE_DIR), help="resume checkpoint dir (default: models/train_state)")
    ap.add_argument("--live", default=str(LIVE_DIR), help="dvclive dir (default: dvclive)")
    ap.add_argument("--speed", default=str(SPEED_DIR), help="dvclive dir for tokens/s and MFU (default: reports/train_speed)")
    args = ap.parse_args(argv)
    run(params_mod.load(path=args.params), Path(args.data), Path(args.base) if args.base else None,
        Path(args.out), Path(args.state), Path(args.live), speed_dir=Path(args.speed))
    return 0


if __name__ == "__main__":
    from doppel.cli import module_main

    module_main("train")
