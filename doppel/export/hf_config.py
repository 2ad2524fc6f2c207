"""Which Hugging Face architecture a litgpt base is, and its config.json / generation_config.json.

Exported as Hugging Face models: the Llama family (Llama 2/3, TinyLlama, SmolLM, CodeLlama, ... and doppel's
tiny base), Mistral, Qwen2/2.5 and Qwen3 (dense). Their HF layouts keep q/k/v and gate/up/down apart, so the
weights map one to one (litgpt's own `convert_lit_checkpoint` functions) and so does a LoRA (`peft`). Other
families (Phi-3/4 fuse qkv_proj and gate_up_proj; Gemma, Falcon, GPT-NeoX, MoE, ...) are refused with one
line; `--to litgpt` exports them all.
"""
from __future__ import annotations

from typing import Any

ARCHITECTURES = {
    "llama": "LlamaForCausalLM", "mistral": "MistralForCausalLM", "qwen2": "Qwen2ForCausalLM",
    "qwen3": "Qwen3ForCausalLM",
}
# Llama-shaped in litgpt, laid out otherwise in HF (Phi-3/4 fuse projections); the rest fail the shape checks too
OTHER_FAMILIES = ("phi", "gemma", "codegemma", "olmo", "mixtral", "deepseek")
DTYPES = {"float32": "float32", "bfloat16": "bfloat16", "float16": "float16"}


class Unsupported(ValueError):
    """The base cannot be exported in a Hugging Face layout (the message says why)."""


def family(config) -> str:
    """llama | mistral | qwen2 | qwen3 for a litgpt Config, or Unsupported naming the first difference."""
    name = config.name.lower()
    if name.startswith("qwen3"):
        fam = "qwen3"
    elif name.startswith(("qwen2", "qwq")):
        fam = "qwen2"
    elif name.startswith(("mistral", "mathstral")):
        fam = "mistral"
    elif name.startswith(OTHER_FAMILIES):
        raise Unsupported(f"base {config.name!r}: its Hugging Face layout is not Llama-like "
                          "(Llama, Mistral, Qwen2/2.5, Qwen3 are)")
    else:
        fam = "llama"
    if problem := _shape_problem(config, fam):
        raise Unsupported(f"base {config.name!r} is not a plain {ARCHITECTURES[fam]}: {problem}")
    return fam


def _shape_problem(c, fam: str) -> str | None:
    expected = {
        "mlp_class_name": "LLaMAMLP", "norm_class_name": "RMSNorm", "parallel_residual": False,
        "shared_attention_norm": False, "post_attention_norm": False, "post_mlp_norm": False, "norm_1": True,
        "norm_2": True, "rotary_percentage": 1.0, "rope_condense_ratio": 1, "rope_interleave": False,
        "attention_scores_scalar": None, "attention_logit_softcapping": None, "final_logit_softcapping": None,
        "scale_embeddings": False, "lm_head_bias": False, "bias": False, "latent_attention": None,
        "rope_local_base_freq": None, "rope_indices": None, "n_expert": 0,
        "attn_bias": fam == "qwen2", "norm_qk": fam == "qwen3",
    }
    for key, want in expected.items():
        got = getattr(c, key, want)
        if got != want:
            return f"{key} is {got!r} (expected {want!r})"
    if c.norm_qk and c.norm_qk_type != "default":
        return f"norm_qk_type is {c.norm_qk_type!r}"
    if c.sliding_window_size is not None and c.sliding_window_size < c.block_size:
        if fam != "mistral" or (c.sliding_window_indices and not all(c.sliding_window_indices)):
            return "sliding-window attention on some layers"
    adj = c.rope_adjustments
    if adj and not {"low_freq_factor", "high_freq_factor"} <= set(adj):
        return f"RoPE scaling {adj} (only Llama 3's is mapped)"
    return None


def rope_scaling(c) -> dict | None:
    adj = c.rope_adjustments
    if not adj:
        return None
    return {"rope_type": "llama3", "factor": adj["factor"], "low_freq_factor": adj["low_freq_factor"],
            "high_freq_factor": adj["high_freq_factor"], "original_max_position_embeddings": adj["original_max_seq_len"]}


def config_json(c, fam: str, dtype: str, tie: bool, bos_id: int | None, eos_id: int | None) -> dict[str, Any]:
    """config.json for a litgpt Config of family `fam` (see `family`)."""
    out: dict[str, Any] = {
        "architectures": [ARCHITECTURES[fam]],
        "model_type": fam,
        "vocab_size": c.padded_vocab_size,
        "hidden_size": c.n_embd,
        "intermediate_size": c.intermediate_size,
        "num_hidden_layers": c.n_layer,
        "num_attention_heads": c.n_head,
        "num_key_value_heads": c.n_query_groups,
        "head_dim": c.head_size,
        "hidden_act": "silu",
        "max_position_embeddings": c.block_size,
        "rms_norm_eps": c.norm_eps,
        "rope_theta": float(c.rope_base),
        "rope_scaling": rope_scaling(c),
        "attention_bias": bool(c.attn_bias) and fam != "qwen2",  # Qwen2's q/k/v biases are implied
        "attention_dropout": 0.0,
        "initializer_range": 0.02,
        "tie_word_embeddings": tie,
        "use_cache": True,
        "bos_token_id": bos_id,
        "eos_token_id": eos_id,
        "torch_dtype": DTYPES[dtype],
    }
    if fam == "llama":
        out.update(mlp_bias=False, pretraining_tp=1)
    if fam == "mistral":
        out["sliding_window"] = c.sliding_window_size
    if fam in ("qwen2", "qwen3"):
        out.update(use_sliding_window=False, sliding_window=None, max_window_layers=c.n_layer)
    return out


def generation_config_json(sampling, stop_strings, bos_id: int | None, eos_id: int | None) -> dict[str, Any]:
    """generation_config.json: the twin's sampling defaults (params `chat`) and its stop strings.

    transformers stops at `stop_strings` when `generate` is given the tokenizer (`tokenizer=tok`)."""
    out: dict[str, Any] = {"bos_token_id": bos_id, "eos_token_id": eos_id, "max_new_tokens": sampling.max_new_tokens,
                           "stop_strings": list(stop_strings)}
    if sampling.temperature > 0:
        out.update(do_sample=True, temperature=sampling.temperature, top_p=sampling.top_p)
        out["top_k"] = sampling.top_k or 0
    else:
        out["do_sample"] = False
    return out
