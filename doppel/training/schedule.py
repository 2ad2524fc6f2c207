"""The learning-rate schedule of every training loop here (LoRA fine-tuning and the tiny base's pre-training):
a linear warmup, then cosine, linear or constant down to min_lr_ratio; and the optimizer's betas."""
from __future__ import annotations

import math

# AdamW's betas for LoRA and pre-training alike: litgpt's finetune defaults; a constant, not a knob.
ADAMW_BETAS = (0.9, 0.95)


def lr_lambda(warmup_steps: int, total_steps: int, schedule: str, min_lr_ratio: float):
    """The multiplier of the base learning rate at each step (for torch's LambdaLR)."""
    warm, floor = warmup_steps, float(min_lr_ratio)

    def f(step: int) -> float:
        if step < warm:
            return (step + 1) / (warm + 1)
        if schedule == "constant":
            return 1.0
        frac = min(1.0, (step - warm) / max(1, total_steps - warm))
        shape = 0.5 * (1 + math.cos(math.pi * frac)) if schedule == "cosine" else 1 - frac
        return floor + (1 - floor) * shape

    return f
