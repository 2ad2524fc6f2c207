"""Bases from what users have: an HF folder and a GGUF file, written here from a small random Llama model,
convert to litgpt checkpoints whose logits equal transformers'; converted once per content; bad inputs are one
line each."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import cfg
from doppel.base import convert as conv
from doppel.base import prepare
from doppel.base.source import inspect
from doppel.errors import InputError
from doppel.model import checkpoint
from doppel.model.load import load
from support.hf_model import write_gguf, write_hf

IDS = torch.tensor([[0, 5, 17, 40, 99, 3, 250, 301, 12, 7]])
TEXT = "Привет, как дела? ok 🙂"


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    root = tmp_path_factory.mktemp("sources")
    hf = write_hf(root / "hf")
    return {"root": root, "hf": hf, "gguf": write_gguf(root / "m.gguf", hf),
            "q8": write_gguf(root / "q8.gguf", hf, "Q8_0")}


def _reference(path: Path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    kw = {"gguf_file": path.name} if path.suffix == ".gguf" else {}
    folder = path.parent if path.suffix == ".gguf" else path
    return (AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32, **kw).eval(),
            AutoTokenizer.from_pretrained(folder, **kw))


@pytest.mark.parametrize("kind", ["hf", "gguf", "q8"])
def test_converted_logits_equal_transformers(sources, tmp_path, kind):
    lines = []
    out = conv.convert(inspect(sources[kind]), tmp_path / "cache", log=lines.append)
    assert out.parent == (tmp_path / "cache").resolve() and out.name.startswith(inspect(sources[kind]).kind + "-")
    twin = load(out, None, "cpu")
    ref, ref_tok = _reference(sources[kind])
    with torch.no_grad():
        diff = (twin.model(IDS) - ref(IDS).logits).abs().max().item()
    assert diff <= 1e-4
    # the same text gives the same ids, and the special tokens are the file's own (not both BOS)
    assert twin.tokenizer.encode(TEXT, bos=False).tolist() == ref_tok(TEXT, add_special_tokens=False)["input_ids"]
    assert (twin.tokenizer.bos_id, twin.tokenizer.eos_id) == (0, 1)
    assert twin.tokenizer.decode(twin.tokenizer.encode(TEXT, bos=False)) == TEXT
    # the converted folder's own files load in transformers as that tokenizer (what `doppel export` copies):
    # a GGUF's byte-level BPE is not transformers' GGUF default, a CodeLlamaTokenizer (<unk> for Cyrillic)
    from transformers import AutoTokenizer

    saved = AutoTokenizer.from_pretrained(out)
    assert type(saved).__name__ != "CodeLlamaTokenizer"
    ids = saved(TEXT)["input_ids"]
    assert ids == twin.tokenizer.encode(TEXT, bos=False).tolist() and saved.decode(ids) == TEXT
    warned = [line for line in lines if "warning" in line]
    assert len(warned) == (1 if kind == "q8" else 0)
    if kind == "q8":
        assert "Q8_0" in warned[0] and "not the original weights" in warned[0]


def test_converted_once_per_content(sources, tmp_path):
    src = tmp_path / "hf"
    shutil.copytree(sources["hf"], src)
    first = conv.convert(inspect(src), tmp_path / "cache", log=lambda s: None)
    stamp = (first / "lit_model.pth").stat().st_mtime_ns
    lines = []
    assert conv.convert(inspect(src), tmp_path / "cache", log=lines.append) == first
    assert (first / "lit_model.pth").stat().st_mtime_ns == stamp and "already converted" in lines[0]
    # one byte of the weights changed: another key, another folder
    weights = src / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1
    weights.write_bytes(bytes(data))
    second = conv.convert(inspect(src), tmp_path / "cache", log=lambda s: None)
    assert second != first and sorted(p.name for p in (tmp_path / "cache").iterdir() if not p.name.startswith(".")) \
        == sorted([first.name, second.name])


@pytest.fixture
def gguf_opens(monkeypatch) -> list[str]:
    """The module of every doppel caller that opens a GGUFReader (transformers' own reads are not counted)."""
    import sys

    import gguf

    real, opened = gguf.GGUFReader, []

    def counting(*args, **kwargs):
        caller = sys._getframe(1).f_globals.get("__name__", "")
        if caller.startswith("doppel"):
            opened.append(caller)
        return real(*args, **kwargs)

    monkeypatch.setattr(gguf, "GGUFReader", counting)
    return opened


def test_base_stage_points_to_the_converted_copy(sources, tmp_path, monkeypatch, gguf_opens):
    params = cfg("base", checkpoint_dir=str(sources["gguf"]), cache_dir=str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match="not converted yet: run `doppel base`"):
        _find(params, tmp_path)
    assert gguf_opens == []   # locating the base reads no GGUF (the base stage checks it)
    info = prepare.run(params, None, tmp_path / "models" / "base", log=lambda s: None)
    # the stage checks the file once and converts it with one more reader (quantization, tokenizer, tokens)
    assert gguf_opens == ["doppel.base.source", "doppel.base.convert"]
    assert info["kind"] == "external" and info["source"] == {"kind": "gguf", "path": str(sources["gguf"]),
                                                               "litgpt_name": None}
    assert sorted(p.name for p in (tmp_path / "models" / "base").iterdir()) == ["base.json"]
    del gguf_opens[:]
    assert checkpoint.resolve_checkpoint(params) == Path(info["checkpoint_dir"])
    assert _find(params, tmp_path) == Path(info["checkpoint_dir"])
    assert gguf_opens == []   # every command's find_base: no full check of the source


def _find(params, tmp_path: Path) -> Path:
    import yaml

    from conftest import ROOT

    data = yaml.safe_load((ROOT / "params.yaml").read_text())
    data["base"].update(checkpoint_dir=params.checkpoint_dir, cache_dir=params.cache_dir)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(data))
    return checkpoint.find_base(path)


def test_litgpt_name_uses_litgpt_own_converter(sources, tmp_path):
    """A config name from litgpt's table in place of the mapping from config.json; an unknown name is one line."""
    with pytest.raises(InputError, match="litgpt has no config named 'No-Such-Model'"):
        conv.convert(inspect(sources["hf"]), tmp_path / "cache", litgpt_name="No-Such-Model", log=lambda s: None)


def _break(tmp_path: Path, sources, how: str) -> Path:
    hf = tmp_path / "hf"
    shutil.copytree(sources["hf"], hf)
    config = json.loads((hf / "config.json").read_text())
    if how == "arch":
        config["architectures"] = ["GPT2LMHeadModel"]
    elif how == "act":
        config["hidden_act"] = "gelu"
    elif how == "no-tokenizer":
        (hf / "tokenizer.json").unlink()
    elif how == "bin-only":
        (hf / "model.safetensors").rename(hf / "pytorch_model.bin")
    elif how == "fake-safetensors":
        (hf / "model.safetensors").write_bytes(b"<html>not found</html>")
    elif how == "config-not-json":
        (hf / "config.json").write_text("{not json")
        return hf
    elif how == "rope":
        config["rope_scaling"] = {"rope_type": "yarn", "factor": 4.0}
    (hf / "config.json").write_text(json.dumps(config))
    return hf


@pytest.mark.parametrize("how,message", [
    ("arch", r"unsupported architecture 'GPT2LMHeadModel'"),
    ("act", r"unsupported activation 'gelu'"),
    ("rope", r"unsupported RoPE scaling 'yarn'"),
    ("no-tokenizer", r"HF model folder without a tokenizer"),
    ("bin-only", r"without \*\.safetensors weights \(only PyTorch \.bin weights"),
    ("fake-safetensors", r"model\.safetensors: not a safetensors file"),
    ("config-not-json", r"config\.json: not JSON"),
])
def test_bad_hf_folder_is_one_line(sources, tmp_path, how, message):
    hf = _break(tmp_path, sources, how)
    with pytest.raises(InputError, match=message) as err:
        conv.convert(inspect(hf), tmp_path / "cache", log=lambda s: None)
    assert "\n" not in str(err.value)
    assert not any(p.name.endswith(tuple("0123456789")) and ".tmp-" in p.name
                   for p in (tmp_path / "cache").glob("*"))  # no half-written folder left


def test_bad_gguf_is_one_line(sources, tmp_path):
    import gguf

    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"GGUG" + sources["gguf"].read_bytes()[4:])  # one byte off the magic
    with pytest.raises(InputError, match="not a GGUF file"):
        inspect(fake)
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(sources["gguf"].read_bytes()[:200])
    with pytest.raises(InputError, match="cannot read this GGUF"):
        inspect(cut)
    other = tmp_path / "gpt2.gguf"
    w = gguf.GGUFWriter(str(other), "gpt2")
    w.add_tensor("token_embd.weight", np.zeros((4, 4), np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    with pytest.raises(InputError, match="unsupported GGUF architecture 'gpt2'"):
        inspect(other)
    with pytest.raises(InputError, match="a file, but not a .gguf"):
        inspect(sources["hf"] / "model.safetensors")
    upper = tmp_path / "M.GGUF"
    shutil.copy(sources["gguf"], upper)
    assert inspect(upper).kind == "gguf"


def test_unreadable_quantization_is_one_line(tmp_path):
    """A tensor type the gguf package cannot dequantize (Q8_1 has no dequantizer in gguf 0.19)."""
    import gguf

    bad = tmp_path / "q81.gguf"
    w = gguf.GGUFWriter(str(bad), "llama")
    w.add_tensor("token_embd.weight", np.zeros((4, 40), "uint8"), raw_shape=(4, 40),
                 raw_dtype=gguf.GGMLQuantizationType.Q8_1)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    with pytest.raises(InputError, match=r"quantization Q8_1 cannot be read"):
        inspect(bad)
