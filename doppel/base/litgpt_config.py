"""An HF model's config.json -> litgpt's Config, for the architectures doppel converts itself.

litgpt's own converter knows a model only by a name in its table (`Config.from_name`); a folder from
`save_pretrained`, a fine-tune or a GGUF has no such name. `from_hf` reads the architecture from config.json
instead (Llama family: Llama 2/3, SmolLM, TinyLlama, Mistral without sliding window, ...). `base.litgpt_name`
names a litgpt config instead, for anything else litgpt knows.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from doppel.errors import InputError

# The HF architectures whose weights litgpt's Llama converter (copy_weights_hf_llama) maps one to one.
LLAMA_ARCHITECTURES = ("LlamaForCausalLM", "MistralForCausalLM")
# Activations of the gated MLP litgpt's LLaMAMLP computes (silu(fc_1(x)) * fc_2(x)).
LLAMA_ACTIVATIONS = ("silu", "swish")


def _rope(hf: dict[str, Any], where: Path) -> tuple[float, dict | None]:
    """(rope base, litgpt rope_adjustments) from the HF fields (transformers 5 nests them in rope_parameters)."""
    rope = dict(hf.get("rope_parameters") or {})
    scaling = hf.get("rope_scaling") or {}
    rope.update(scaling)  # the older field, when a folder has it, says the scaling
    theta = rope.get("rope_theta", hf.get("rope_theta", 10000.0))
    kind = rope.get("rope_type", rope.get("type", "default"))
    if kind in (None, "default"):
        return float(theta), None
    if kind == "llama3":
        return float(theta), {"factor": rope["factor"], "low_freq_factor": rope["low_freq_factor"],
                              "high_freq_factor": rope["high_freq_factor"],
                              "original_max_seq_len": rope["original_max_position_embeddings"]}
    raise InputError(where, f"unsupported RoPE scaling {kind!r} (doppel converts default and llama3 RoPE; "
                            "set base.litgpt_name to a litgpt config that has it)")


def from_hf(hf: dict[str, Any], where: Path, name: str = "doppel-base"):
    """litgpt Config for a Llama-family HF config dict; an InputError line for anything else."""
    from litgpt import Config

    arch = (hf.get("architectures") or ["?"])[0]
    if arch not in LLAMA_ARCHITECTURES:
        raise InputError(where, f"unsupported architecture {arch!r} (doppel converts {', '.join(LLAMA_ARCHITECTURES)}"
                                "; for another model litgpt knows, set base.litgpt_name)")
    if hf.get("sliding_window") not in (None, 0) and arch == "MistralForCausalLM":
        raise InputError(where, "unsupported: sliding-window attention (set base.litgpt_name to its litgpt config)")
    act = hf.get("hidden_act", "silu")
    if act not in LLAMA_ACTIVATIONS:
        raise InputError(where, f"unsupported activation {act!r} for {arch} (doppel converts silu)")
    if hf.get("attention_bias") or hf.get("mlp_bias"):
        raise InputError(where, f"unsupported: {arch} with attention or MLP biases")
    try:
        n_embd, n_head = int(hf["hidden_size"]), int(hf["num_attention_heads"])
        theta, adjustments = _rope(hf, where)
        return Config(
            name=name, block_size=int(hf.get("max_position_embeddings", 2048)),
            vocab_size=int(hf["vocab_size"]), padded_vocab_size=int(hf["vocab_size"]),
            n_layer=int(hf["num_hidden_layers"]), n_embd=n_embd, n_head=n_head,
            head_size=int(hf.get("head_dim") or n_embd // n_head),
            n_query_groups=int(hf.get("num_key_value_heads") or n_head),
            intermediate_size=int(hf["intermediate_size"]), norm_eps=float(hf.get("rms_norm_eps", 1e-5)),
            rope_base=theta, rope_adjustments=adjustments, rotary_percentage=1.0, parallel_residual=False,
            bias=False, norm_class_name="RMSNorm", mlp_class_name="LLaMAMLP",
        )
    except KeyError as err:
        raise InputError(where, f"config.json lacks {err.args[0]!r}") from None
