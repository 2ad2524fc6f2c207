"""`--to hf`: the twin as a merged Hugging Face model dir that `AutoModelForCausalLM.from_pretrained(DIR)`,
vLLM and llama.cpp's `convert_hf_to_gguf.py` load with no extra arguments.

    config.json                     from the litgpt Config (hf_config)
    model.safetensors               merged weights under HF names (sharded above 5 GB, with an index)
    generation_config.json          the twin's sampling defaults and stop strings
    tokenizer.json, tokenizer_config.json (+ chat template), ...
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from doppel.errors import InputError
from doppel.export import hf_config
from doppel.export.tokenizer_files import write_json, write_tokenizer
from doppel.export.weights import Source, is_tied, merged_weights, to_hf_keys
from doppel.prompt import STOP_STRINGS


def hf_family(src: Source) -> str:
    try:
        return hf_config.family(src.base_config())
    except hf_config.Unsupported as err:
        raise InputError(src.checkpoint_dir, f"{err}; `--to litgpt` exports any base") from None


def save_safetensors(weights: dict[str, torch.Tensor], out_dir: Path, max_shard_size: str | int = "5GB") -> int:
    """model.safetensors, or model-0000i-of-0000n.safetensors + model.safetensors.index.json when large.
    Returns the number of files. Each shard's tensors are copied out (split views share storage) when written."""
    from huggingface_hub import split_torch_state_dict_into_shards
    from safetensors.torch import save_file

    split = split_torch_state_dict_into_shards(weights, max_shard_size=max_shard_size)
    for filename, names in split.filename_to_tensors.items():
        shard = {name: weights[name].detach().contiguous().clone() for name in names}
        save_file(shard, str(out_dir / filename), metadata={"format": "pt"})
        del shard
    if split.is_sharded:
        write_json(out_dir / "model.safetensors.index.json",
                   {"metadata": split.metadata, "weight_map": split.tensor_to_filename})
    return len(split.filename_to_tensors)


def write_hf(src: Source, out_dir: Path, *, system: str, sampling, dtype: str = "auto") -> dict[str, Any]:
    """Write the merged HF model dir; returns a summary (family, dtype, tied, files)."""
    config = src.base_config()
    fam = hf_family(src)
    weights, dtype = merged_weights(src, dtype)
    tie = is_tied(weights)
    hf_weights = to_hf_keys(config, fam, weights, tie)
    del weights
    specials = write_tokenizer(src.checkpoint_dir, out_dir, system, config.block_size)
    write_json(out_dir / "config.json",
               hf_config.config_json(config, fam, dtype, tie, specials.bos_id, specials.eos_id))
    write_json(out_dir / "generation_config.json",
               hf_config.generation_config_json(sampling, STOP_STRINGS, specials.bos_id, specials.eos_id))
    files = save_safetensors(hf_weights, out_dir)
    return {"family": fam, "architecture": hf_config.ARCHITECTURES[fam], "dtype": dtype, "tied": tie,
            "weight_files": files}
