"""The twin's weights for export: the base with the LoRA merged (litgpt key names), and the same under
Hugging Face key names (litgpt's own `convert_lit_checkpoint` copy functions).

The merge is the twin's: litgpt's `get_lora_AB` of each LoRA layer added to the base weight in float32, so an
fp32 export holds exactly the weights `doppel chat` runs on CPU. Other dtypes are cast after the merge.
Weights the merge does not touch are taken from the memory-mapped base file (read once, when written).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from doppel.errors import InputError
from doppel.model.checkpoint import read_weights

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


@dataclass
class Source:
    """What is exported: a litgpt base checkpoint and, optionally, a LoRA adapter trained on it."""
    checkpoint_dir: Path
    adapter_dir: Path | None

    def base_config(self):
        import litgpt

        return litgpt.Config.from_file(self.checkpoint_dir / "model_config.yaml")

    def lora_config(self):
        import litgpt.lora

        return litgpt.lora.Config.from_file(self.adapter_dir / "model_config.yaml")


def stored_dtype(weights: dict[str, torch.Tensor]) -> str:
    """The dtype name of the base's floating-point weights (what `dtype: auto` keeps)."""
    for t in weights.values():
        if t.is_floating_point():
            return {v: k for k, v in DTYPES.items()}.get(t.dtype, "float32")
    return "float32"


def lora_deltas(src: Source, base: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """{base weight key: float32 delta} for every LoRA layer of the adapter, computed by litgpt itself."""
    import litgpt.lora

    adapter = read_weights(src.adapter_dir / "adapter.pth")
    config = src.lora_config()
    with torch.device("meta"):
        model = litgpt.lora.GPT(config)
    try:
        result = model.load_state_dict({**base, **adapter}, strict=False, assign=True)
    except RuntimeError as err:  # shape mismatch: an adapter trained on another base
        lines = str(err).strip().splitlines()
        raise InputError(src.adapter_dir, f"adapter does not fit the base ({lines[-1].strip() if lines else err})") from err
    missing = [k for k in result.missing_keys if "lora_" in k]
    if missing:
        raise InputError(src.adapter_dir / "adapter.pth", f"{len(missing)} LoRA weights missing, e.g. {missing[0]}")
    deltas = {}
    for name, module in model.named_modules():
        if isinstance(module, litgpt.lora.LoRALinear) and module.r > 0 and hasattr(module, "lora_A"):
            module.lora_A.data, module.lora_B.data = module.lora_A.data.float(), module.lora_B.data.float()
            with torch.no_grad():
                deltas[f"{name}.weight"] = module.get_lora_AB().float()
    return deltas


def merged_weights(src: Source, dtype: str = "auto") -> tuple[dict[str, torch.Tensor], str]:
    """(litgpt state dict of the base with the LoRA merged, dtype name). No adapter: the base, cast."""
    base = read_weights(src.checkpoint_dir / "lit_model.pth")
    dtype = stored_dtype(base) if dtype == "auto" else dtype
    out_dtype = DTYPES[dtype]
    deltas = lora_deltas(src, base) if src.adapter_dir is not None else {}
    unknown = set(deltas) - set(base)
    if unknown:
        raise InputError(src.checkpoint_dir / "lit_model.pth", f"no base weight for LoRA layer {sorted(unknown)[0]}")
    merged = {}
    for key, weight in base.items():
        if key in deltas:
            merged[key] = (weight.float() + deltas.pop(key)).to(out_dtype)
        else:
            merged[key] = weight.to(out_dtype) if weight.is_floating_point() else weight
    return merged, dtype


def is_tied(weights: dict[str, torch.Tensor]) -> bool:
    """Whether the output head is the token embedding (then HF ties them and stores only one)."""
    head, wte = weights.get("lm_head.weight"), weights.get("transformer.wte.weight")
    return head is None or (wte is not None and head.shape == wte.shape and torch.equal(head, wte))


def to_hf_keys(config, fam: str, weights: dict[str, torch.Tensor], tie: bool) -> dict[str, torch.Tensor]:
    """The weights under HF key names for family `fam` (see hf_config.family); lm_head left out when tied."""
    from litgpt.scripts.convert_lit_checkpoint import copy_weights_llama, copy_weights_qwen_2_5, copy_weights_qwen_3

    copy = {"qwen2": copy_weights_qwen_2_5, "qwen3": copy_weights_qwen_3}.get(fam, copy_weights_llama)
    out: dict[str, torch.Tensor] = {}
    copy(config, out, {k: v for k, v in weights.items() if not (tie and k == "lm_head.weight")})
    return out
