"""The train stage: packing, reply-only loss, left cut, adapter layout and loading, resume after kill -9."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from conftest import cfg
from doppel import config, io
from doppel.sample.rows import write_dataset
from doppel.errors import InputError
from doppel.base import prepare
from doppel.model.encode import Example, encode_row
from doppel.prompt import prompt_and_response, render_context
from doppel.training.data import IGNORE, collate, encode_rows, make_plan, pack
from doppel.training.hardware import check_quantize, flop_counter, resolve_precision
from doppel.training.lora import load_base_weights
from doppel.training import loop
from doppel.training.loop import Dirs
from doppel.training.packed import PackedLM, batch_loss, forward
from doppel.training.report import quiet
from doppel.training.state import load_state, run_key, save_state

ROOT = Path(__file__).resolve().parents[2]
TINY = {"vocab_size": 512, "n_layer": 2, "n_embd": 64, "n_head": 4, "intermediate_size": 128,
        "block_size": 256, "pretrain_steps": 3, "pretrain_seq": 64, "pretrain_batch": 2, "seed": 5}
FAST = {"lora_r": 4, "lora_alpha": 8, "lora_dropout": 0.0, "max_seq_length": 128, "batch_size": 2,
        "micro_batch_size": 2, "epochs": 0, "max_steps": 6, "warmup_steps": 1, "lr": 5e-3, "log_interval": 2,
        "eval_interval": 3, "eval_max_rows": 8, "checkpoint_interval": 0, "peak_tflops": 0.1}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tiny base checkpoint + a small synthetic dataset."""
    root = tmp_path_factory.mktemp("tiny")
    data = write_dataset(root / "data", 120, 20, seed=1, context_words=40)
    ckpt = root / "base"
    prepare.run(cfg("base", checkpoint_dir="tiny", tiny=TINY), io.read_rows(data / "train.json"), ckpt, log=quiet)
    return {"root": root, "data": data, "base": ckpt.resolve()}


def run_train(tp, data: Path, base: Path, root: Path, name: str = "") -> dict:
    """The train stage's core on a dataset folder; adapter, state, live and speed (+ name) go into root."""
    dirs = Dirs(root / f"adapter{name}", root / f"state{name}", root / f"live{name}", root / f"speed{name}")
    return loop.run(tp, base, data / "train.json", io.read_rows(data / "train.json"), io.read_rows(data / "val.json"), dirs, log=quiet)


def stage_cmd(params: Path, data: Path, base: Path, root: Path) -> list[str]:
    """`python stages/train.py ...` with every output in root."""
    return [sys.executable, str(ROOT / "stages" / "train.py"), "--params", str(params), "--input", str(data),
            "--base", str(base), "--output", str(root / "adapter"), "--state", str(root / "state"),
            "--live", str(root / "live"), "--speed", str(root / "speed")]


def lora_model(ckpt: Path, seed: int = 0, **cfg_overrides):
    from litgpt.lora import GPT, Config

    torch.manual_seed(seed)
    config = Config.from_file(ckpt / "model_config.yaml", lora_r=4, lora_alpha=8, lora_query=True,
                              lora_value=True, lora_mlp=True, **cfg_overrides)
    model = GPT(config)
    load_base_weights(model, ckpt / "lit_model.pth")
    with torch.no_grad():  # non-zero B so the LoRA path matters
        for n, p in model.named_parameters():
            if "lora_B" in n:
                p.normal_(0, 0.05)
    return model.eval()


# ---------------------------------------------------------------------------------------------- packing


GEMMA_LIKE = {"sliding_window_size": 7, "sliding_window_indices": [1, 0], "attention_logit_softcapping": 50.0,
              "final_logit_softcapping": 30.0, "rope_local_base_freq": 500.0, "rope_indices": [1, 0]}


@pytest.mark.parametrize("extra", [{}, {"n_query_groups": 2}, GEMMA_LIKE], ids=["mha", "gqa", "window-softcap-rope2"])
def test_packed_row_logits_equal_alone(extra):
    from litgpt.lora import GPT, Config

    torch.manual_seed(0)
    kw = dict(block_size=64, vocab_size=97, padded_vocab_size=97, n_layer=2, n_embd=32, n_head=4,
              n_query_groups=4, rotary_percentage=1.0, parallel_residual=False, bias=False,
              norm_class_name="RMSNorm", mlp_class_name="LLaMAMLP", intermediate_size=64,
              lora_r=2, lora_alpha=4, lora_query=True, lora_value=True, lora_mlp=True)
    config = Config(**{**kw, **extra})
    model = GPT(config).eval()
    with torch.no_grad():
        for n, p in model.named_parameters():
            if "lora_B" in n:
                p.normal_(0, 0.1)
    rows = [Example(torch.randint(2, 97, (n,)).tolist(), 3) for n in (9, 17, 6, 25)]
    seqs = [[0, 1, 2], [3]]  # three rows packed together; the second sequence is padded
    batch = collate(rows, seqs)
    assert "doc" in batch and batch["idx"].shape == (2, 8 + 16 + 5)
    with torch.no_grad():
        together = forward(model, batch["idx"], batch["pos"], batch["doc"])
        at = 0
        for i in seqs[0]:
            n = rows[i].n_inputs
            alone = model(torch.tensor([rows[i].ids[:-1]]))
            assert torch.allclose(together[0, at:at + n], alone[0], atol=1e-5), f"row {i} differs when packed"
            at += n
        alone = model(torch.tensor([rows[3].ids[:-1]]))
        assert torch.allclose(together[1, :rows[3].n_inputs], alone[0], atol=1e-5)
        # the head-only-at-targets path gives the same logits there
        sel = batch["targets"] != IGNORE
        picked = forward(model, batch["idx"], batch["pos"], batch["doc"], select=sel)
        assert torch.allclose(picked, together[sel], atol=1e-5)


def test_pack_fills_bins_and_plan_is_deterministic():
    lengths = [100, 60, 40, 30, 200, 56, 12, 255, 1, 128]
    bins = pack(lengths, 256)
    assert sorted(i for b in bins for i in b) == list(range(len(lengths)))
    assert all(sum(lengths[i] for i in b) <= 256 for b in bins)
    assert len(bins) == -(-sum(lengths) // 256)  # optimal here
    tp = cfg("train", batch_size=2, micro_batch_size=1, epochs=3, max_steps=5)
    assert make_plan(lengths, tp, 256) == make_plan(lengths, tp, 256)
    assert len(make_plan(lengths, tp, 256)) == 5


# ---------------------------------------------------------------------------------------------- loss, cut


def test_loss_only_on_reply_tokens(tiny):
    from litgpt.tokenizer import Tokenizer

    tok = Tokenizer(tiny["base"])
    instruction = render_context([(False, "are you coming tonight?"), (True, "maybe")], "A chat.")
    ex, cut = encode_row(tok, instruction, "yes, at eight", 128)
    prompt, target = prompt_and_response(instruction, "yes, at eight")
    p_ids = tok.encode(prompt, bos=True).tolist()
    t_ids = tok.encode(target, bos=False, eos=True).tolist()
    assert not cut and ex.ids == p_ids + t_ids and ex.n_prompt == len(p_ids)
    assert p_ids[0] == tok.bos_id and t_ids[-1] == tok.eos_id
    batch = collate([ex], [[0]])
    y = batch["targets"][0]
    assert y.tolist() == [-100] * (len(p_ids) - 1) + t_ids  # exactly the reply (and EOS) is learned

    model = lora_model(tiny["base"])
    module = PackedLM(model)
    loss, n = batch_loss(module, batch, torch.device("cpu"))
    logits = model(batch["idx"])[0]
    manual = torch.nn.functional.cross_entropy(logits[len(p_ids) - 1:], torch.tensor(t_ids))
    assert n == len(t_ids) and torch.allclose(loss, manual, atol=1e-5)


def test_overlong_row_is_cut_on_the_left_and_keeps_its_reply(tiny):
    from litgpt.tokenizer import Tokenizer

    tok = Tokenizer(tiny["base"])
    turns = [(i % 2 == 0, f"message number {i} with some words in it") for i in range(40)]
    instruction = render_context(turns, "A chat.")
    reply = "the reply must survive intact"
    ex, cut = encode_row(tok, instruction, reply, 64)
    t_ids = tok.encode(prompt_and_response(instruction, reply)[1], bos=False, eos=True).tolist()
    p_ids = tok.encode(prompt_and_response(instruction, reply)[0], bos=True).tolist()
    assert cut and len(ex.ids) == 64
    assert ex.ids[-len(t_ids):] == t_ids                       # the reply is whole
    assert ex.ids[0] == tok.bos_id                             # BOS stays
    assert ex.ids[1:ex.n_prompt] == p_ids[-(ex.n_prompt - 1):]  # the newest context stays, the oldest went
    assert ex.n_prompt == 64 - len(t_ids)
    too_long, _ = encode_row(tok, "hi", "word " * 200, 64)
    assert too_long is None


def test_params_are_validated():
    with pytest.raises(InputError, match="lora_targets"):
        cfg("train", lora_targets=["query", "nose"])
    with pytest.raises(InputError, match="unknown key"):
        cfg("train", learning_rate=1)
    if not torch.cuda.is_available():
        with pytest.raises(InputError, match="CUDA"):
            check_quantize(cfg("train", quantize="bnb.nf4").quantize)
    tp = cfg("train", precision="auto", quantize=None)
    assert resolve_precision(tp, cuda=False) == "32-true"
    assert resolve_precision(tp, cuda=True, bf16=True) == "bf16-mixed"
    assert resolve_precision(tp, cuda=True, bf16=False) == "16-mixed"
    assert resolve_precision(cfg("train", precision="auto", quantize="bnb.nf4"), cuda=True, bf16=True) == "bf16-true"
    # YAML 1.1 reads `2e-4` as a string; it is still a learning rate
    assert cfg("train", lr="2e-4").lr == 2e-4
    with pytest.raises(InputError, match="lr"):
        cfg("train", lr="fast")


def test_max_seq_length_over_the_base_block_size_is_refused(tiny):
    dirs = Dirs(*(tiny["root"] / n for n in ("a", "s", "l", "p")))
    for too_long in (257, 512):
        with pytest.raises(InputError, match=f"max_seq_length {too_long} > the base model's block_size 256"):
            loop.run(cfg("train", max_seq_length=too_long), tiny["base"], tiny["data"] / "train.json", [], [], dirs, log=quiet)
    # exactly the block size is allowed: with no rows, the next check is the one that speaks
    with pytest.raises(InputError, match="no usable rows"):
        loop.run(cfg("train", max_seq_length=256), tiny["base"], tiny["data"] / "train.json", [], [], dirs, log=quiet)


def test_two_ranks_finish_when_the_last_step_has_one_sequence(tiny, tmp_path):
    """9 rows, 4 per step, 2 ranks: the last step has one sequence, so one rank has none. It must still
    join DDP's gradient all-reduce (a zero-weighted pass) or both hang."""
    data = write_dataset(tmp_path / "data", 9, 4, seed=3, context_words=10)
    params = _write_params(tmp_path / "params.yaml", {"devices": 2, "packing": False, "epochs": 1, "max_steps": 0,
                                                      "batch_size": 4, "micro_batch_size": 2, "eval_interval": 0,
                                                      "log_interval": 1})
    cmd = stage_cmd(params, data, tiny["base"], tmp_path)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads((tmp_path / "adapter" / "train.json").read_text())["steps"] == 3


# ---------------------------------------------------------------------------------------------- adapter


def test_adapter_holds_only_lora_and_configs_and_loads(tiny, tmp_path):
    from litgpt.lora import GPT, Config, merge_lora_weights
    from litgpt.prompts import load_prompt_style

    out = tmp_path / "adapter"
    summary = run_train(cfg("train", **FAST), tiny["data"], tiny["base"], tmp_path)
    assert sorted(p.name for p in out.iterdir()) == ["adapter.pth", "model_config.yaml", "prompt_style.yaml",
                                                      "train.json"]
    assert summary["steps"] == 6 and summary["tokens"] > 0 and summary["mfu"] > 0
    assert summary["val_loss_after"] < summary["val_loss_before"]
    assert not (tmp_path / "state" / "state.pt").exists()  # finished: nothing left to resume
    metrics = json.loads((tmp_path / "live" / "metrics.json").read_text())
    assert {"loss", "val_loss", "lr", "val_loss_before", "val_loss_after"} <= set(metrics)
    assert {"tokens_per_s", "mfu"}.isdisjoint(metrics)  # hardware figures stay out of the DVC-hashed outputs
    speed = json.loads((tmp_path / "speed" / "metrics.json").read_text())
    assert speed["mfu"] > 0 and speed["tokens_per_s"] > 0
    assert (tmp_path / "speed" / "plots" / "metrics" / "tokens_per_s.tsv").is_file()
    assert "tokens_per_s" not in json.loads((out / "train.json").read_text())
    assert (tmp_path / "live" / "plots" / "metrics" / "loss.tsv").is_file()
    assert yaml.safe_load((out / "prompt_style.yaml").read_text()) == {"class_path": "doppel.prompt.TwinChat"}
    assert type(load_prompt_style(out)).__name__ == "TwinChat"

    lora_sd = torch.load(out / "adapter.pth", weights_only=True)
    assert lora_sd and all("lora_" in k for k in lora_sd)
    config = Config.from_file(out / "model_config.yaml")
    assert (config.lora_r, config.lora_alpha, config.lora_query, config.lora_mlp) == (4, 8, True, True)
    model = GPT(config)
    model.load_state_dict(torch.load(tiny["base"] / "lit_model.pth", weights_only=True), strict=False)
    res = model.load_state_dict(lora_sd, strict=False)
    assert not res.unexpected_keys and not any("lora_" in k for k in res.missing_keys)
    model.eval()
    x = torch.randint(0, 300, (1, 20))
    with torch.no_grad():
        before = model(x)
        merge_lora_weights(model)
        after = model(x)
        assert torch.allclose(before, after, atol=1e-4)
        base_model = GPT(Config.from_file(out / "model_config.yaml", lora_r=0))
        base_model.load_state_dict(torch.load(tiny["base"] / "lit_model.pth", weights_only=True), strict=False)
        assert not torch.allclose(base_model.eval()(x), after, atol=1e-4)  # the adapter changed the model


# ---------------------------------------------------------------------------------------------- resume


def _write_params(path: Path, overrides: dict) -> Path:
    """A params file with the train section only (the stage is given --base): params.yaml's, FAST, overrides."""
    path.write_text(yaml.safe_dump({"train": cfg("train", **{**FAST, **overrides}).model_dump()}))
    return path


KILL_AT = 4


def test_resume_after_kill_continues_from_the_checkpoint(tiny, tmp_path):
    steps = 24
    params = _write_params(tmp_path / "params.yaml", {"max_steps": steps, "checkpoint_interval": 4,
                                                      "lora_dropout": 0.1, "eval_interval": 0, "log_interval": 4})
    state, out = tmp_path / "state", tmp_path / "adapter"
    cmd = stage_cmd(params, tiny["data"], tiny["base"], tmp_path)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # the run kills itself right after its checkpoint at step 4 (a hook on save_state, not a timer: on a machine
    # of any speed it dies at the same step)
    hook = ("import os, runpy, signal, sys\n"
            "from doppel.training import loop\n"
            "real = loop.save_state\n"
            "def save_state(d, state):\n"
            "    real(d, state)\n"
            f"    if state['step'] >= {KILL_AT}: os.kill(os.getpid(), signal.SIGKILL)\n"
            "loop.save_state = save_state\n"
            "sys.argv = sys.argv[1:]\n"
            "runpy.run_path(sys.argv[0], run_name='__main__')\n")
    killed = subprocess.run([sys.executable, "-c", hook, *cmd[1:]], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    killed_at = json.loads((state / "state.json").read_text())["step"]
    assert killed_at == KILL_AT and not out.exists()

    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    resumed = json.loads((out / "train.json").read_text())
    assert f"resuming from the checkpoint at step {killed_at}" in done.stderr  # progress goes to stderr
    assert resumed["resumed_from_step"] == killed_at and resumed["steps"] == steps
    steps_logged = [int(line.split("\t")[0]) for line in
                    (tmp_path / "live" / "plots" / "metrics" / "loss.tsv").read_text().splitlines()[1:]]
    assert steps_logged == list(range(4, steps + 1, 4))  # the history before the kill was written back

    # the resumed run ends where an uninterrupted one does
    straight = run_train(config.load("train", params), tiny["data"], tiny["base"], tmp_path, "2")
    assert straight["steps"] == steps and straight["resumed_from_step"] == 0
    a = torch.load(out / "adapter.pth", weights_only=True)
    b = torch.load(tmp_path / "adapter2" / "adapter.pth", weights_only=True)
    assert a.keys() == b.keys() and all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)


def test_changed_params_start_fresh(tiny, tmp_path):
    tp = cfg("train", **FAST)
    k1 = run_key(tp, tiny["data"] / "train.json", tiny["base"])
    assert k1 == run_key(cfg("train", **{**FAST, "log_interval": 99}), tiny["data"] / "train.json", tiny["base"])
    assert k1 != run_key(cfg("train", **{**FAST, "lr": 1e-4}), tiny["data"] / "train.json", tiny["base"])
    assert k1 != run_key(tp, tiny["data"] / "val.json", tiny["base"])
    save_state(tmp_path, {"key": "other", "step": 3, "total_steps": 6})
    assert load_state(tmp_path, k1, log=quiet) is None


def test_flop_count_agrees_with_torch_flop_counter(tiny):
    """The MFU numerator (4 x frozen + 6 x LoRA params per token, the head only at reply positions) against
    torch's own count of a real packed forward + backward. torch does not count attention here, so that term
    is left out; the rest agrees to about a percent."""
    from litgpt.lora import GPT, Config
    from litgpt.tokenizer import Tokenizer
    from torch.utils.flop_counter import FlopCounterMode

    config = Config.from_file(tiny["base"] / "model_config.yaml", lora_r=4, lora_alpha=8, lora_query=True,
                              lora_key=True, lora_value=True, lora_projection=True, lora_mlp=True, lora_head=True)
    model = GPT(config)
    load_base_weights(model, tiny["base"] / "lit_model.pth")
    for name, p in model.named_parameters():
        p.requires_grad = "lora_" in name
    rows = json.loads((tiny["data"] / "train.json").read_text())[:3]
    examples, _ = encode_rows(Tokenizer(tiny["base"]), rows, 128)
    batch = collate(examples, [[0, 1, 2]])
    with FlopCounterMode(display=False) as counter:
        loss, n_targets = batch_loss(PackedLM(model), batch, torch.device("cpu"))
        loss.backward()
    measured = counter.get_total_flops()
    cfg = model.config
    attention = sum(12 * cfg.n_layer * cfg.n_head * cfg.head_size * L * (L + 1) / 2 for L in batch["lengths"])
    ours = flop_counter(model)(batch["lengths"], n_targets) - attention
    assert ours == pytest.approx(measured, rel=0.02), (ours, measured)
