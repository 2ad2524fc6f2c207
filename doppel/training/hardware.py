"""What the machine offers: precision, QLoRA's requirements, the Fabric, and the FLOP accounting behind MFU."""
from __future__ import annotations

import math
import sys
import time
from pathlib import Path
from typing import Any, Iterable

import torch

from doppel.config import TrainConfig
from doppel.errors import InputError

# Dense peak TFLOP/s by device name fragment (bf16/fp16 tensor cores; fp32 uses tf32 where it exists).
GPU_PEAK_TFLOPS = {  # name fragment, most specific first: (bf16, fp32/tf32)
    "H100 PCIe": (756.0, 378.0), "H100 NVL": (835.0, 418.0),
    "H200": (989.0, 494.0), "H100": (989.0, 494.0), "H800": (989.0, 494.0), "GH200": (989.0, 494.0),
    "B200": (2250.0, 1100.0), "A100": (312.0, 156.0), "A800": (312.0, 156.0), "L40S": (362.0, 183.0),
    "L40": (181.0, 90.5), "L4": (121.0, 60.0), "A10": (125.0, 62.5), "4090": (165.0, 82.6),
    "3090": (71.0, 35.6), "V100": (125.0, 15.7), "T4": (65.0, 8.1),
}


def resolve_precision(cfg: TrainConfig, cuda: bool, bf16: bool | None = None) -> str:
    """train.precision, with `auto` made concrete: bf16 (or fp16) on CUDA, 32-true on CPU."""
    if cfg.precision != "auto":
        return cfg.precision
    if not cuda:
        return "32-true"
    if bf16 is None:
        bf16 = torch.cuda.is_bf16_supported()  # not on T4/V100: fp16 there
    if cfg.quantize:
        return "bf16-true" if bf16 else "16-true"
    return "bf16-mixed" if bf16 else "16-mixed"


def check_quantize(quantize: str | None, source: str | Path = "params.yaml") -> None:
    """QLoRA needs a CUDA GPU and bitsandbytes: an InputError naming the knob when either is missing."""
    if not quantize:
        return
    if not torch.cuda.is_available():
        raise InputError(source, f"train.quantize = {quantize}: needs a CUDA GPU (none found); "
                                        "set train.quantize: null to train unquantized")
    try:
        import bitsandbytes  # noqa: F401
    except ImportError:
        raise InputError(source, f"train.quantize = {quantize}: bitsandbytes is not installed "
                                        "(pip install bitsandbytes), or set train.quantize: null") from None


def make_fabric(cfg: TrainConfig):
    """(Lightning Fabric for the run, its precision); launches the other ranks when devices > 1."""
    import lightning as L

    cuda = torch.cuda.is_available()
    check_quantize(cfg.quantize, cfg.source)
    precision = resolve_precision(cfg, cuda)
    if cuda:
        torch.set_float32_matmul_precision("high")  # TF32 for fp32 matmuls: the fp32 peak in GPU_PEAK_TFLOPS
    if not cuda and precision != "32-true":
        print(f"doppel train: note: precision {precision} on CPU is slower than 32-true", file=sys.stderr)
    if cfg.quantize:
        from lightning.fabric.plugins import BitsandbytesPrecision

        if "mixed" in precision:
            raise InputError(cfg.source, "train.quantize needs a -true precision (bf16-true), not " + precision)
        dtype = {"16-true": torch.float16, "bf16-true": torch.bfloat16, "32-true": torch.float32}[precision]
        plugins = BitsandbytesPrecision(cfg.quantize[4:], dtype)
        fabric = L.Fabric(devices=cfg.devices, accelerator="cuda", plugins=plugins)
    else:
        fabric = L.Fabric(devices=cfg.devices, accelerator="cuda" if cuda else "cpu", precision=precision)
    if cfg.devices > 1:
        fabric.launch()
    return fabric, precision


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


def sync(device) -> None:
    """Wait for the GPU, so that a step's wall time is the step's."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
