"""An HF model folder or a GGUF file -> a litgpt checkpoint, converted once into `base.cache_dir`.

The converted folder is named by the source's kind and content hash (doppel.base.source.content_key): a rerun,
or a second project on the same model, finds it and converts nothing. It lives outside the repository, so
neither git nor the DVC cache ever holds a copy of the weights. A GGUF is dequantized to float32 by transformers
(with the `gguf` package), saved as an HF folder, then converted like any HF folder.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any, Callable

from doppel.base.litgpt_config import from_hf
from doppel.base.source import HF_SIDE_FILES, Source, content_key, quantization
from doppel.errors import InputError

SOURCE_FILE = "doppel_source.json"   # in the converted folder: what it was converted from
# bumped when a conversion's output changes, so a cache converted by an older doppel is not reused
# (2: a GGUF's byte-level BPE tokenizer is saved as one, not as transformers' CodeLlamaTokenizer)
CONVERT_VERSION = 2
# what a byte-level BPE tokenizer.json decodes and post-processes with (the original SmolLM2/GPT-2 files'):
# transformers' GGUF converter writes a sentencepiece-style decoder and a BOS template instead
BYTE_LEVEL_DECODER = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True}
BYTE_LEVEL_POST = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True}
# tokenizer_config.json keys of transformers' CodeLlamaTokenizer that a byte-level BPE does not have
CODELLAMA_KEYS = ("prefix_token", "middle_token", "suffix_token", "eot_token", "fill_token", "extra_special_tokens",
                  "legacy")


def _stderr(line: str) -> None:
    print(line, file=sys.stderr)


def converted_dir(src: Source, cache_dir: str | Path) -> Path:
    """Where `src`'s litgpt checkpoint lives (whether or not it is there yet)."""
    cache_dir = Path(os.path.expanduser(str(cache_dir))).resolve()
    return cache_dir / f"{src.kind}-{content_key(src, cache_dir)[:20]}-v{CONVERT_VERSION}"


def is_converted(out: Path) -> bool:
    return all((out / f).is_file() for f in ("lit_model.pth", "model_config.yaml", SOURCE_FILE))


def convert(src: Source, cache_dir: str | Path, litgpt_name: str | None = None,
            log: Callable[[str], Any] = _stderr) -> Path:
    """The litgpt checkpoint for `src` (an hf or gguf Source), converting it only if not converted before."""
    out = converted_dir(src, cache_dir)
    if is_converted(out):
        log(f"doppel base: {src.path} already converted -> {out}")
        return out
    tmp = out.with_name(f"{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    t0 = time.perf_counter()
    try:
        if src.kind == "gguf":
            from gguf import GGUFReader

            reader = GGUFReader(src.path)   # read once: the quantization, the tokenizer kind, the special tokens
            quant = quantization(reader)
            if quant:
                log(f"doppel base: warning: {src.path.name} is quantized ({', '.join(quant)}): dequantized, "
                    "these are not the original weights")
            gguf_to_hf(src.path, tmp / "hf", reader)
            hf_to_litgpt(tmp / "hf", tmp, litgpt_name)
            shutil.rmtree(tmp / "hf")
        else:
            hf_to_litgpt(src.path, tmp, litgpt_name)
        (tmp / SOURCE_FILE).write_text(json.dumps({"kind": src.kind, "path": str(src.path)}, indent=2) + "\n")
        shutil.rmtree(out, ignore_errors=True)
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log(f"doppel base: converted {src.kind} {src.path} in {time.perf_counter() - t0:.1f}s -> {out}")
    return out


def gguf_to_hf(path: Path, out: Path, reader) -> None:
    """A GGUF file (and its open GGUFReader) -> an HF folder (float32 weights, tokenizer, chat template) via
    transformers (which reads the file itself too)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
        model = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name, dtype=torch.float32)
    except Exception as err:  # noqa: BLE001 - what transformers cannot read: one line
        raise InputError(path, f"transformers cannot load this GGUF ({type(err).__name__}: "
                               f"{str(err).strip().splitlines()[0] if str(err).strip() else ''})") from None
    # transformers' GGUF tokenizer converter takes both special tokens from the BOS id: set them from the file
    bos, eos = gguf_special_tokens(reader)
    if bos is not None:
        tok.bos_token = bos
    if eos is not None:
        tok.eos_token = eos
        model.generation_config.eos_token_id = tok.convert_tokens_to_ids(eos)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    if gguf_tokenizer_model(reader) == "gpt2":
        byte_level_tokenizer(out)


def gguf_tokenizer_model(reader) -> str | None:
    """tokenizer.ggml.model of a GGUF (its GGUFReader; "gpt2": byte-level BPE, "llama": sentencepiece)."""
    field = reader.fields.get("tokenizer.ggml.model")
    return None if field is None else str(field.contents())


def byte_level_tokenizer(hf_dir: Path) -> None:
    """The tokenizer files of a byte-level BPE converted from a GGUF, made to load as one in transformers
    (PreTrainedTokenizerFast, byte-level decoder, no BOS template), as doppel's own tokenizer already reads them."""
    tj_path, tc_path = hf_dir / "tokenizer.json", hf_dir / "tokenizer_config.json"
    tj = json.loads(tj_path.read_text(encoding="utf-8"))
    tj["decoder"], tj["post_processor"] = BYTE_LEVEL_DECODER, BYTE_LEVEL_POST
    tj_path.write_text(json.dumps(tj, ensure_ascii=False, indent=2), encoding="utf-8")
    tc = {k: v for k, v in json.loads(tc_path.read_text(encoding="utf-8")).items() if k not in CODELLAMA_KEYS}
    tc["tokenizer_class"] = "PreTrainedTokenizerFast"
    tc_path.write_text(json.dumps(tc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def gguf_special_tokens(reader) -> tuple[str | None, str | None]:
    """(BOS, EOS) token strings a GGUF (its GGUFReader) names in tokenizer.ggml.bos_token_id / eos_token_id."""
    fields = reader.fields
    tokens = fields.get("tokenizer.ggml.tokens")

    def token(key: str) -> str | None:
        field = fields.get(key)
        if field is None or tokens is None:
            return None
        i = int(field.contents())
        return tokens.contents(i) if 0 <= i < len(tokens.data) else None

    return token("tokenizer.ggml.bos_token_id"), token("tokenizer.ggml.eos_token_id")


def hf_to_litgpt(hf_dir: Path, out: Path, litgpt_name: str | None = None) -> None:
    """An HF folder -> lit_model.pth + model_config.yaml + the tokenizer files in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    hf = json.loads((hf_dir / "config.json").read_text(encoding="utf-8"))
    if litgpt_name:
        _convert_named(hf_dir, out, litgpt_name)
    else:
        _convert_llama(hf_dir, out, from_hf(hf, hf_dir / "config.json"))
    for name in HF_SIDE_FILES:
        if (hf_dir / name).is_file():
            shutil.copy2(hf_dir / name, out / name)
    if not (out / "tokenizer_config.json").is_file():  # litgpt's checkpoint check wants one
        (out / "tokenizer_config.json").write_text("{}\n")


def _convert_llama(hf_dir: Path, out: Path, config) -> None:
    import torch
    from litgpt.config import Config  # noqa: F401 - litgpt's config module first (import order)
    from litgpt.scripts.convert_hf_checkpoint import copy_weights_hf_llama
    from litgpt.utils import save_config
    from safetensors.torch import load_file

    state: dict = {}
    qkv: dict = {}
    for f in sorted(hf_dir.glob("*.safetensors")):
        try:
            copy_weights_hf_llama(config, qkv, state, load_file(f))
        except KeyError as err:
            raise InputError(f, f"unexpected weight {err.args[0]!r} for a Llama-family model") from None
    if any(qkv.values()):
        raise InputError(hf_dir, "incomplete attention weights (a q/k/v projection is missing)")
    save_config(config, out)
    torch.save(state, out / "lit_model.pth")


def _convert_named(hf_dir: Path, out: Path, name: str) -> None:
    """litgpt's own converter for a config in its table (base.litgpt_name), on links to the weights."""
    from litgpt.config import Config
    from litgpt.scripts.convert_hf_checkpoint import convert_hf_checkpoint

    try:
        Config.from_name(name)
    except ValueError:
        raise InputError(hf_dir, f"base.litgpt_name: litgpt has no config named {name!r}") from None
    links = []
    for f in [*hf_dir.glob("*.safetensors"), *hf_dir.glob("*.safetensors.index.json")]:
        (out / f.name).symlink_to(f)
        links.append(out / f.name)
    try:
        convert_hf_checkpoint(out, model_name=name)
    finally:
        for link in links:
            link.unlink(missing_ok=True)
