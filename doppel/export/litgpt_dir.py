"""`--to litgpt`: the twin as a merged litgpt checkpoint dir that `litgpt chat`, `litgpt generate` and
`litgpt serve` load as is (any base litgpt supports, not only Llama-like ones).

    lit_model.pth           the base with the LoRA merged (litgpt key names)
    model_config.yaml       the base's litgpt config
    prompt_style.yaml       doppel.export.prompt_style: a message becomes `system\\nThem: ...\\nMe:`, stops at
                            the turn markers (doppel must be importable where litgpt runs: `pip install doppel`)
    tokenizer files         with the chat template (`litgpt serve --openai_spec true` renders it)
    generation_config.json  copied from the base when it has one (litgpt reads BOS/EOS ids there too)
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import torch
import yaml

from doppel.export.prompt_style import class_path
from doppel.export.tokenizer_files import write_tokenizer
from doppel.export.weights import Source, merged_weights

COPIED = ("model_config.yaml", "generation_config.json")


def write_litgpt(src: Source, out_dir: Path, *, system: str, dtype: str = "auto") -> dict[str, Any]:
    config = src.base_config()
    weights, dtype = merged_weights(src, dtype)
    torch.save(weights, out_dir / "lit_model.pth")
    del weights
    for name in COPIED:
        if (src.checkpoint_dir / name).is_file():
            shutil.copy2(src.checkpoint_dir / name, out_dir / name)
    write_tokenizer(src.checkpoint_dir, out_dir, system, config.block_size)
    (out_dir / "prompt_style.yaml").write_text(yaml.safe_dump({"class_path": class_path(system)}), encoding="utf-8")
    return {"dtype": dtype, "base": config.name}
