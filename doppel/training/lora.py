"""The model trained: litgpt.lora.GPT on the base's weights, only its LoRA weights trainable."""
from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any

import torch

from doppel.config import LORA_TARGETS, TrainConfig
from doppel.errors import InputError
from doppel.model.checkpoint import read_weights
from doppel.training.schedule import ADAMW_BETAS


def lora_kwargs(cfg: TrainConfig) -> dict[str, Any]:
    """The LoRA fields of litgpt.lora.Config for train.lora_*."""
    return {
        "lora_r": int(cfg.lora_r),
        "lora_alpha": cfg.lora_alpha,
        "lora_dropout": float(cfg.lora_dropout),
        **{f"lora_{t}": t in cfg.lora_targets for t in LORA_TARGETS},
    }


@contextlib.contextmanager
def _default_dtype(dtype):
    saved = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(saved)


def build_model(fabric, config, checkpoint: Path | None, cfg: TrainConfig, precision: str):
    """litgpt.lora.GPT with the base weights loaded and only LoRA trainable. Under bf16-mixed on CUDA the
    frozen weights are created and kept in bf16 (half the memory, no per-step casts); LoRA weights stay fp32."""
    from litgpt.lora import GPT, LoRALinear, mark_only_lora_as_trainable

    frozen_bf16 = precision == "bf16-mixed" and fabric.device.type == "cuda"
    with _default_dtype(torch.bfloat16) if frozen_bf16 else contextlib.nullcontext():
        with fabric.init_module(empty_init=checkpoint is not None):
            model = GPT(config)
    model.max_seq_length = min(cfg.max_seq_length, config.block_size)
    fabric.seed_everything(cfg.seed)
    for m in model.modules():  # LoRA init after empty_init: the same with and without it
        if isinstance(m, LoRALinear) and hasattr(m, "lora_A"):
            if frozen_bf16:
                m.lora_A.data, m.lora_B.data = m.lora_A.data.float(), m.lora_B.data.float()
            m.reset_parameters()
    mark_only_lora_as_trainable(model)
    if checkpoint is not None and not cfg.quantize:
        load_base_weights(model, checkpoint)
    if cfg.compile:
        if fabric.device.type != "cuda":
            print("doppel train: note: train.compile is ignored on CPU", file=sys.stderr)
        else:
            for block in model.transformer.h:
                block.compile()
    return model


def load_base_weights(model, checkpoint: Path) -> None:
    """The base's lit_model.pth into `model` (LoRA weights untouched); an InputError when it does not fit."""
    result = model.load_state_dict(read_weights(checkpoint), strict=False)
    missing = [k for k in result.missing_keys if "lora_" not in k and k.endswith((".weight", ".bias"))]
    if missing:
        raise InputError(checkpoint, f"base weights do not match model_config.yaml: missing {missing[:4]}...")


def make_optimizer(model, cfg: TrainConfig):
    """AdamW over the trainable (LoRA) weights; bitsandbytes' paged variant under QLoRA."""
    trainable = [p for p in model.parameters() if p.requires_grad]
    if cfg.quantize:
        from litgpt.utils import instantiate_bnb_optimizer

        return instantiate_bnb_optimizer({"class_path": "torch.optim.AdamW", "init_args": {
            "lr": cfg.lr, "weight_decay": cfg.weight_decay, "betas": ADAMW_BETAS}}, trainable), trainable
    return torch.optim.AdamW(trainable, lr=cfg.lr, weight_decay=cfg.weight_decay, betas=ADAMW_BETAS), trainable
