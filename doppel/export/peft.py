"""`--to peft`: the LoRA alone as a PEFT adapter (adapter_config.json + adapter_model.safetensors) for a
Llama/Mistral/Qwen base: what `vllm serve BASE --enable-lora --lora-modules twin=DIR`, Ollama's `ADAPTER` and
llama.cpp's `convert_lora_to_gguf.py --base` take.

litgpt fuses q/k/v into one LoRA layer: `lora_A` is (r * n_enabled, d) and `lora_B` is (sum of the enabled
q/k/v sizes, r), and chunk i of A (r rows) pairs only with split i of B (litgpt's grouped conv1d), so the
split into q_proj/k_proj/v_proj adapters is exact. attn.proj -> o_proj, mlp fc_1/fc_2/proj ->
gate_proj/up_proj/down_proj, lm_head -> lm_head; the scaling alpha/r is the same on both sides (no rsLoRA).
A LoRA on the output head of a tied-embedding base is refused: HF stores that head as the embedding, and
vLLM, llama.cpp and Ollama cannot load a LoRA on it.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch

from doppel.errors import InputError
from doppel.export.hf import hf_family, write_json
from doppel.export.tokenizer_files import write_tokenizer
from doppel.export.weights import Source, is_tied
from doppel.model.checkpoint import read_weights

MODULES = {"attn.proj": "self_attn.o_proj", "mlp.fc_1": "mlp.gate_proj", "mlp.fc_2": "mlp.up_proj",
           "mlp.proj": "mlp.down_proj"}
QKV = ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj")
LAYER_KEY = re.compile(r"transformer\.h\.(\d+)\.(attn\.qkv|attn\.proj|mlp\.fc_1|mlp\.fc_2|mlp\.proj)\.lora_([AB])")
PREFIX = "base_model.model."


def split_qkv(a: torch.Tensor, b: torch.Tensor, config) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """{q_proj|k_proj|v_proj: (A, B)} of a fused litgpt qkv LoRA, for the enabled ones only."""
    r = config.lora_r
    enabled = [config.lora_query, config.lora_key, config.lora_value]
    sizes = [config.n_head * config.head_size, config.n_query_groups * config.head_size,
             config.n_query_groups * config.head_size]
    names = [n for n, on in zip(QKV, enabled) if on]
    b_parts = b.split([s for s, on in zip(sizes, enabled) if on])
    if a.shape[0] != r * len(names) or len(b_parts) != len(names) or b.shape[1] != r:
        raise ValueError(f"qkv LoRA shapes A {tuple(a.shape)}, B {tuple(b.shape)} do not fit r={r} on {names}")
    return {name: (a[i * r:(i + 1) * r], b_parts[i]) for i, name in enumerate(names)}


def peft_tensors(adapter: dict[str, torch.Tensor], config) -> dict[str, torch.Tensor]:
    """The adapter's tensors under PEFT names (`base_model.model.model.layers.N.self_attn.q_proj.lora_A.weight`)."""
    pairs: dict[str, dict[str, torch.Tensor]] = {}
    for key, tensor in adapter.items():
        if key in ("lm_head.lora_A", "lm_head.lora_B"):
            pairs.setdefault("lm_head", {})[key[-1]] = tensor
        elif m := LAYER_KEY.fullmatch(key):
            pairs.setdefault(f"{m[1]}|{m[2]}", {})[m[3]] = tensor
        else:
            raise ValueError(f"LoRA weight {key} has no PEFT counterpart")
    out = {}
    for where, ab in pairs.items():
        if set(ab) != {"A", "B"}:
            raise ValueError(f"LoRA layer {where} lacks lora_{'B' if 'A' in ab else 'A'}")
        if where == "lm_head":
            split = {"lm_head": (ab["A"], ab["B"])}
        else:
            layer, module = where.split("|")
            parts = split_qkv(ab["A"], ab["B"], config) if module == "attn.qkv" else {MODULES[module]: (ab["A"], ab["B"])}
            split = {f"model.layers.{layer}.{name}": t for name, t in parts.items()}
        for name, (a, b) in split.items():
            out[f"{PREFIX}{name}.lora_A.weight"] = a.float()
            out[f"{PREFIX}{name}.lora_B.weight"] = b.float()
    return out


def adapter_config(config, targets: list[str], base_name: str | None) -> dict[str, Any]:
    return {
        "peft_type": "LORA", "task_type": "CAUSAL_LM", "base_model_name_or_path": base_name, "revision": None,
        "r": config.lora_r, "lora_alpha": config.lora_alpha, "lora_dropout": config.lora_dropout,
        "target_modules": targets, "bias": "none", "fan_in_fan_out": False, "modules_to_save": None,
        "use_rslora": False, "use_dora": False, "init_lora_weights": True, "inference_mode": True,
        "layers_to_transform": None, "layers_pattern": None, "rank_pattern": {}, "alpha_pattern": {},
    }


def default_base_name(config) -> str | None:
    hf = config.hf_config or {}
    return f"{hf['org']}/{hf['name']}" if hf.get("org") and hf.get("name") else None


HEAD_NOTE = ("the adapter has a LoRA on lm_head (train.lora_targets has `head`): transformers + peft and llama.cpp "
             "load it, vLLM refuses it; for vLLM serve the merged `--to hf` export, or train without `head`")


def write_peft(src: Source, out_dir: Path, *, system: str, base_name: str | None = None) -> dict[str, Any]:
    if src.adapter_dir is None:
        raise InputError("--no-adapter", "a PEFT export is the adapter itself: drop --no-adapter")
    hf_family(src)  # refuses the families whose HF layout is not q/k/v + gate/up/down
    config = src.lora_config()
    if config.lora_head and is_tied(read_weights(src.checkpoint_dir / "lit_model.pth")):
        raise InputError(src.adapter_dir, "a LoRA on the output head of a tied-embedding base has no PEFT form that "
                                          "vLLM/llama.cpp/Ollama load; use --to hf, or train without `head` in "
                                          "train.lora_targets")
    try:
        tensors = peft_tensors(read_weights(src.adapter_dir / "adapter.pth"), config)
    except ValueError as err:
        raise InputError(src.adapter_dir / "adapter.pth", str(err)) from None
    if not tensors:
        raise InputError(src.adapter_dir / "adapter.pth", "no LoRA weights in the adapter")
    from safetensors.torch import save_file

    targets = sorted({k.rsplit(".", 3)[-3] for k in tensors})  # ...q_proj.lora_A.weight -> q_proj
    base_name = base_name or default_base_name(src.base_config())
    save_file({k: v.contiguous().clone() for k, v in tensors.items()}, str(out_dir / "adapter_model.safetensors"),
              metadata={"format": "pt"})
    write_json(out_dir / "adapter_config.json", adapter_config(config, targets, base_name))
    write_tokenizer(src.checkpoint_dir, out_dir, system, config.block_size)
    return {"r": config.lora_r, "lora_alpha": config.lora_alpha, "targets": targets, "base": base_name,
            "tensors": len(tensors)}
