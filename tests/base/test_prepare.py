"""The base stage: the tiny default is a valid, deterministic litgpt checkpoint; a real one is pointed to."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import torch

from conftest import ROOT, cfg
from doppel import config
from doppel.sample.rows import write_dataset
from doppel.cli import main as doppel_main
from doppel.errors import InputError
from doppel.base import tiny
from doppel.model import checkpoint
from doppel.base import prepare

TINY = {"vocab_size": 600, "n_layer": 2, "n_embd": 64, "n_head": 4, "intermediate_size": 128,
        "block_size": 256, "pretrain_steps": 6, "pretrain_seq": 64, "pretrain_batch": 4, "seed": 3}


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("base")
    data = write_dataset(root / "data", 150, 10, seed=2, context_words=40)
    rows = json.loads((data / "train.json").read_text())
    rows[0]["output"] = "Привет, как дела? 🙂"  # any text encodes: byte-level BPE
    (data / "train.json").write_text(json.dumps(rows, ensure_ascii=False))
    params = cfg("base", checkpoint_dir="tiny", tiny=TINY)
    info = prepare.run(params, rows, root / "a", log=lambda s: None)
    prepare.run(params, rows, root / "b", log=lambda s: None)
    return {"root": root, "data": data, "rows": rows, "a": root / "a", "b": root / "b", "info": info,
            "params": params}


def test_tiny_base_is_a_valid_litgpt_checkpoint(built):
    from litgpt.config import Config
    from litgpt.model import GPT
    from litgpt.tokenizer import Tokenizer
    from litgpt.utils import check_valid_checkpoint_dir

    ckpt = built["a"]
    check_valid_checkpoint_dir(ckpt, raise_error=True)
    tok = Tokenizer(ckpt)
    assert tok.backend == "huggingface" and tok.use_bos and tok.bos_id is not None and tok.eos_id is not None
    ids = tok.encode("Me: Привет, как дела? 🙂", bos=True, eos=True)
    assert ids[0] == tok.bos_id and ids[-1] == tok.eos_id
    assert tok.decode(ids[1:-1]) == "Me: Привет, как дела? 🙂"
    config = Config.from_file(ckpt / "model_config.yaml")
    assert config.norm_class_name == "RMSNorm" and config.mlp_class_name == "LLaMAMLP"
    assert config.padded_vocab_size >= tok.vocab_size and config.n_layer == 2
    model = GPT(config)
    model.load_state_dict(torch.load(ckpt / "lit_model.pth", weights_only=True), strict=True)
    with torch.no_grad():
        logits = model(ids[None, :-1].long())
    assert logits.shape == (1, len(ids) - 1, config.padded_vocab_size) and torch.isfinite(logits).all()
    pre = built["info"]["pretrain"]
    assert pre["loss_last"] < pre["loss_first"]  # the brief pre-training learned something
    assert json.loads((ckpt / "base.json").read_text())["kind"] == "tiny"


def test_tiny_base_is_deterministic(built):
    for name in ("lit_model.pth", "tokenizer.json", "tokenizer_config.json", "model_config.yaml", "base.json"):
        assert sha(built["a"] / name) == sha(built["b"] / name), name


def test_session_documents_keep_each_line_once():
    rows = [
        {"instruction": "Sys\nThem: hi", "output": "hello", "session": 0},
        {"instruction": "Sys\nThem: hi\nMe: hello\nThem: how are you", "output": "fine", "session": 0},
        {"instruction": "Sys\nThem: yo", "output": "hey", "session": 1},
    ]
    assert tiny.session_documents(rows) == ["Sys\nThem: hi\nMe: hello\nThem: how are you\nMe: fine",
                                            "Sys\nThem: yo\nMe: hey"]
    # a row's memory block (build with memory.enabled) is not part of the conversation: left out
    block = "Things Me said before:\n- Me: hey"
    with_block = [{**rows[0], "instruction": f"Sys\n{block}\nThem: hi", "memory": block}, *rows[1:]]
    assert tiny.session_documents(with_block) == tiny.session_documents(rows)


def test_external_checkpoint_is_pointed_to_not_copied(built, tmp_path, monkeypatch):
    ckpt = built["a"].resolve()
    out = tmp_path / "models" / "base"
    info = prepare.run(cfg("base", checkpoint_dir=str(ckpt)), None, out, log=lambda s: None)
    assert sorted(p.name for p in out.iterdir()) == ["base.json"]
    pointer = json.loads((out / "base.json").read_text())
    assert pointer["kind"] == "external" and pointer["checkpoint_dir"] == str(ckpt)
    assert pointer["files"]["lit_model.pth"]["size"] == (ckpt / "lit_model.pth").stat().st_size
    assert info["kind"] == "external"
    assert checkpoint.resolve_checkpoint(cfg("base", checkpoint_dir=str(ckpt))) == ckpt
    monkeypatch.chdir(tmp_path)
    assert checkpoint.resolve_checkpoint(cfg("base", checkpoint_dir="tiny")) == (tmp_path / "models" / "base").resolve()
    assert checkpoint.resolve_checkpoint(cfg("base")) == (tmp_path / "models" / "base").resolve()


def test_incomplete_checkpoint_is_a_clear_error(built, tmp_path):
    bad = tmp_path / "ckpt"
    bad.mkdir()
    (bad / "model_config.yaml").write_text("name: x\n")
    with pytest.raises(InputError, match="missing lit_model.pth.*tokenizer_config.json"):
        prepare.run(cfg("base", checkpoint_dir=str(bad)), None, tmp_path / "out", log=lambda s: None)
    with pytest.raises(InputError, match="no such file or folder"):
        prepare.run(cfg("base", checkpoint_dir=str(tmp_path / "nope")), None, tmp_path / "out", log=lambda s: None)
    with pytest.raises(InputError, match=r"base\.tiny\.layers: unknown key"):
        cfg("base", tiny={"layers": 3})


def test_missing_dataset_is_a_clear_error(tmp_path, capsys):
    params = tmp_path / "params.yaml"
    params.write_text((ROOT / "params.yaml").read_text())
    code = doppel_main(["base", "--input", str(tmp_path), "--output", str(tmp_path / "out"), "--params", str(params)])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "dataset file not found" in err[0] and err[0].startswith("doppel base: error:")
    assert not (tmp_path / "out").exists()
    with pytest.raises(InputError, match="no rows"):
        prepare.run(cfg("base", tiny=TINY), [], tmp_path / "out", log=lambda s: None)


def test_stage_script_writes_the_checkpoint(built, tmp_path):
    """`python stages/base.py` (what dvc.yaml runs) builds the same checkpoint as the library call."""
    import subprocess
    import sys

    import yaml

    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["base"]["tiny"].update(TINY)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, allow_unicode=True))
    out = tmp_path / "models" / "base"
    proc = subprocess.run([sys.executable, str(ROOT / "stages" / "base.py"), "--input", str(built["data"]),
                           "--output", str(out), "--params", str(tmp_path / "params.yaml")],
                          capture_output=True, text=True, cwd=tmp_path, env={**__import__("os").environ,
                                                                            "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "" and "pre-trained" in proc.stderr
    for name in ("lit_model.pth", "tokenizer.json", "tokenizer_config.json", "model_config.yaml", "base.json"):
        assert sha(out / name) == sha(built["a"] / name), name
    assert config.load("base", tmp_path / "params.yaml").tiny.n_layer == 2
