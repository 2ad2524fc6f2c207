"""Loading the twin: a litgpt checkpoint (plus, optionally, a LoRA adapter merged in) on a device and dtype.

`load_twin` is what commands call: plain values in, the twin ready to reply out. `resolve_device` is the one
place a device string (`auto`, `cpu`, `cuda:1`, ...) is checked: a device that is not there is one InputError
line, not a CUDA traceback.
"""
from __future__ import annotations

from pathlib import Path

import torch

from doppel.errors import InputError
from doppel.model.checkpoint import HINT, find_base, read_weights, validate_adapter, validate_checkpoint
from doppel.model.twin import Twin

_PRECISIONS = {
    "32": torch.float32, "32-true": torch.float32, "float32": torch.float32, "fp32": torch.float32,
    "16": torch.float16, "16-true": torch.float16, "float16": torch.float16, "fp16": torch.float16,
    "bf16": torch.bfloat16, "bf16-true": torch.bfloat16, "bfloat16": torch.bfloat16,
}


def _available(kind: str) -> bool:
    if kind == "cpu":
        return True
    if kind == "mps":
        return torch.backends.mps.is_available()
    return bool(getattr(getattr(torch, kind, None), "is_available", lambda: False)())


def resolve_device(device: str | torch.device) -> torch.device:
    """`auto` -> cuda if present, else cpu; any other device must exist on this machine."""
    name = str(device).strip()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except (RuntimeError, ValueError):
        raise InputError(f"device {name!r}", "not a device (use auto, cpu, cuda, cuda:1, mps)") from None
    if not _available(dev.type):
        raise InputError(f"device {name!r}", f"no {dev.type} device on this machine (use auto or cpu)")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise InputError(f"device {name!r}", f"this machine has {torch.cuda.device_count()} CUDA device(s)")
    return dev


def resolve_dtype(precision: str | None, device: torch.device) -> torch.dtype:
    """null: bf16 (else fp16) on a GPU, float32 on CPU; `-mixed` means its `-true` here (inference)."""
    if precision is None:
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    key = str(precision).lower().removesuffix("-mixed").removesuffix("-true")
    if key not in _PRECISIONS:
        raise InputError(f"precision {precision!r}", "unknown precision; use one of 32-true, bf16-true, 16-true")
    return _PRECISIONS[key]


def _model(checkpoint_dir: Path, adapter_dir: Path | None) -> torch.nn.Module:
    """The model on the meta device with the weights assigned straight from the (memory-mapped) files."""
    import litgpt
    import litgpt.lora

    if adapter_dir is not None:
        config, model_cls = litgpt.lora.Config.from_file(adapter_dir / "model_config.yaml"), litgpt.lora.GPT
    else:
        config, model_cls = litgpt.Config.from_file(checkpoint_dir / "model_config.yaml"), litgpt.GPT
    state = dict(read_weights(checkpoint_dir / "lit_model.pth"))
    if adapter_dir is not None:
        state.update(read_weights(adapter_dir / "adapter.pth"))
    with torch.device("meta"):
        model = model_cls(config)
    try:
        result = model.load_state_dict(state, strict=False, assign=True)
    except RuntimeError as err:  # shape mismatch: an adapter trained on another base
        where = adapter_dir if adapter_dir is not None else checkpoint_dir
        first = str(err).strip().splitlines()
        raise InputError(where, f"weights do not fit the model config ({first[-1].strip() if first else err})") from err
    if result.missing_keys:
        lora = [k for k in result.missing_keys if "lora_" in k]
        where = (adapter_dir / "adapter.pth") if lora and adapter_dir is not None else checkpoint_dir / "lit_model.pth"
        raise InputError(where, f"{len(result.missing_keys)} weights missing, e.g. {result.missing_keys[0]}")
    return model


def load(checkpoint_dir: str | Path, adapter_dir: str | Path | None = None, device: str | torch.device = "auto",
         precision: str | None = None) -> Twin:
    """Base checkpoint (+ LoRA adapter, merged into the weights) and tokenizer, ready to generate.

    A real checkpoint is read once (memory-mapped) and cast once: bf16 on a GPU by default, float32 on CPU.
    """
    import litgpt
    import litgpt.lora

    checkpoint_dir = validate_checkpoint(Path(checkpoint_dir).expanduser().resolve(), "base checkpoint", hint=HINT)
    adapter_dir = validate_adapter(adapter_dir) if adapter_dir is not None else None
    dev = resolve_device(device)
    dtype = resolve_dtype(precision, dev)
    model = _model(checkpoint_dir, adapter_dir)
    # The rope cache was built on the meta device with the model; rebuild it, then move and cast everything.
    model.cos, model.sin = model.rope_cache(device=torch.device("cpu"))
    model = model.to(device=dev, dtype=dtype)
    if adapter_dir is not None:
        litgpt.lora.merge_lora_weights(model)
    model.eval()
    model.requires_grad_(False)
    return Twin(model=model, tokenizer=litgpt.Tokenizer(checkpoint_dir), device=dev, checkpoint_dir=checkpoint_dir,
                adapter_dir=adapter_dir)


def load_twin(params_file: str | Path, base: str | Path | None = None, adapter: str | Path | None = None,
              device: str = "auto", precision: str | None = None) -> Twin:
    """The twin every command talks to: `base` (None: the base stage's, from params) + `adapter` (None: the
    base alone), checked before anything loads. `twin.checkpoint_dir` / `twin.adapter_dir` say what it is."""
    return load(find_base(params_file, base), adapter, device=device, precision=precision)
