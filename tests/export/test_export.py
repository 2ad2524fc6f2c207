"""`doppel export`: every format loads in its runtime and is the twin (same logits, same prompt, same replies).

Offline and on CPU: a tiny 2-layer Llama-shaped base + random LoRA (tests/support/twin.py), plus small
variants for the other mapped layouts (GQA + Llama 3 RoPE, Qwen2 biases with tied embeddings, Qwen3 q/k norms).
The transformers/peft checks need the `export` extra (`pip install -e '.[export]'`).
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import yaml

from doppel.cli import main as doppel_main
from doppel.export.template import chat_template, render
from doppel.prompt import STOP_STRINGS, apply, cut_at_stop, render_context
from support import twin as F
from support.twin import SYSTEM, make_adapter, make_checkpoint, make_rows

ROOT = Path(__file__).resolve().parents[2]
PARAMS = ROOT / "params.yaml"
FP32_TOL = 1e-4  # |logit| differences between two fp32 implementations of the same weights


def export(capsys, *args) -> tuple[int, str]:
    capsys.readouterr()
    rc = doppel_main(["export", "--params", str(PARAMS), *map(str, args)])
    return rc, capsys.readouterr().err


@pytest.fixture(scope="module")
def twin_dirs(tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    base = make_checkpoint(root / "base")
    return root, base, make_adapter(base, root / "adapter")


@pytest.fixture(scope="module")
def twin(twin_dirs):
    from doppel.model.load import load

    _, base, adapter = twin_dirs
    return load(base, adapter, device="cpu")


@pytest.fixture(scope="module")
def exported(twin_dirs):
    """hf, peft, litgpt and the base alone as hf, written by the command."""
    root, base, adapter = twin_dirs
    out = {}
    for name, args in {"hf": ["--to", "hf"], "litgpt": ["--to", "litgpt"], "base-hf": ["--to", "hf", "--no-adapter"],
                       "peft": ["--to", "peft", "--base-name", root / "base-hf"]}.items():
        out[name] = root / "out" / name
        rc = doppel_main(["export", "--params", str(PARAMS), "--base", str(base), "--adapter", str(adapter),
                          "--out", str(out[name]), *map(str, args)])
        assert rc == 0, name
    return out


def val_prompts(twin, n: int = 6) -> list[list[int]]:
    rows = make_rows(4, 2, chat_base=10)[:n]  # the fixture's val rows
    return [twin.encode_prompt(twin.prompt_for(r["instruction"]), twin.block_size) for r in rows]


def max_logit_diff(twin_model, other, prompts) -> float:
    worst = 0.0
    with torch.no_grad():
        for ids in prompts:
            x = torch.tensor([ids])
            worst = max(worst, float((twin_model(x)[0] - other(x).logits[0]).abs().max()))
    return worst


CONVERSATIONS = [
    [{"role": "user", "content": "Hello what are you doing?"}],
    [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "щас кофе 😂"},
     {"role": "user", "content": "two\nlines"}],
    [{"role": "system", "content": "Другой system prompt"}, {"role": "user", "content": "ok"}],
    [{"role": "system", "content": ""}, {"role": "user", "content": [{"type": "text", "text": "parts"}]}],
    [],
]
TRICKY_SYSTEM = 'quotes " \' backslash \\ braces }} {% %} {{ x }} emoji 😂 tab\t and\nnewline'


def turns_of(messages) -> tuple[list[tuple[bool, str]], str | None]:
    system, turns = None, []
    for m in messages:
        text = m["content"] if isinstance(m["content"], str) else "\n".join(p["text"] for p in m["content"])
        if m["role"] == "system":
            system = text
        else:
            turns.append((m["role"] == "assistant", text))
    return turns, system


# --------------------------------------------------------------------------------------- chat template

@pytest.mark.parametrize("system", [SYSTEM, TRICKY_SYSTEM, ""])
@pytest.mark.parametrize("messages", CONVERSATIONS)
def test_chat_template_renders_the_training_prompt(messages, system):
    """Byte for byte doppel's prompt, with transformers' Jinja settings and with litgpt serve's plain Template."""
    import jinja2
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    turns, override = turns_of(messages)
    expected = apply(render_context(turns, system if override is None else override))
    assert render(messages, system) == expected
    template = chat_template(system, bos=True)
    hf_env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    hf = hf_env.from_string(template).render(messages=messages, bos_token="<s>", add_generation_prompt=True)
    assert hf == "<s>" + expected
    no_gen = hf_env.from_string(template).render(messages=messages, bos_token="<s>", add_generation_prompt=False)
    assert no_gen == "<s>" + expected.removesuffix("\nMe:")
    # litgpt serve --openai_spec: plain Template, no bos_token, no generation prompt; the prompt style adds it
    from doppel.export.prompt_style import twin_prompt

    plain = jinja2.Template(template).render(messages=messages)
    assert plain == expected.removesuffix("\nMe:")
    if turns:
        assert twin_prompt(plain, system) == expected


def test_chat_template_refuses_unknown_roles():
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message):
        raise ValueError(message)

    template = ImmutableSandboxedEnvironment().from_string(chat_template(SYSTEM, bos=False))
    with pytest.raises(ValueError, match="roles system, user"):
        template.render(messages=[{"role": "tool", "content": "x"}], raise_exception=raise_exception)


def test_litgpt_prompt_style_from_class_path():
    from litgpt.prompts import PromptStyle

    from doppel.export.prompt_style import class_path

    module, name = class_path(TRICKY_SYSTEM).rsplit(".", 1)
    style = getattr(__import__(module, fromlist=[name]), name)()
    assert isinstance(style, PromptStyle)
    assert style.apply("hi there") == apply(render_context([(False, "hi there")], TRICKY_SYSTEM))
    rendered = render_context([(False, "a"), (True, "b"), (False, "c")], SYSTEM)
    assert style.apply(rendered) == apply(rendered)
    assert style.apply(apply(rendered)) == apply(rendered)


# ------------------------------------------------------------------------------------------ PEFT split

@pytest.mark.parametrize("enabled", [(True, True, True), (True, False, True), (False, True, False)])
def test_qkv_split_is_exact(enabled):
    """Each split q/k/v adapter times its scaling is exactly litgpt's fused delta, rows for rows."""
    import litgpt.lora

    from doppel.export.peft import split_qkv

    config = litgpt.lora.Config(n_embd=32, n_head=4, n_query_groups=2, head_size=8, lora_r=3, lora_alpha=6,
                                lora_query=enabled[0], lora_key=enabled[1], lora_value=enabled[2])
    layer = litgpt.lora.LoRAQKVLinear(32, (4 + 2 * 2) * 8, r=3, lora_alpha=6, enable_lora=enabled, head_size=8,
                                      n_head=4, n_query_groups=2)
    torch.manual_seed(0)
    layer.lora_B.data = torch.randn_like(layer.lora_B)
    fused = layer.get_lora_AB()
    parts = split_qkv(layer.lora_A.data, layer.lora_B.data, config)
    rows = {"self_attn.q_proj": slice(0, 32), "self_attn.k_proj": slice(32, 48), "self_attn.v_proj": slice(48, 64)}
    for name, on in zip(rows, enabled):
        if on:
            a, b = parts[name]
            assert torch.allclose(fused[rows[name]], b @ a * config.lora_alpha / config.lora_r, atol=1e-6)
        else:
            assert name not in parts and torch.count_nonzero(fused[rows[name]]) == 0


# --------------------------------------------------------------------------------- hf, peft, litgpt

def test_hf_logits_equal_the_twin(twin, exported):
    transformers = pytest.importorskip("transformers")
    model = transformers.AutoModelForCausalLM.from_pretrained(exported["hf"])
    assert model.dtype == torch.float32 and type(model).__name__ == "LlamaForCausalLM"
    diff = max_logit_diff(twin.model, model.eval(), val_prompts(twin))
    assert diff <= FP32_TOL, diff


def test_hf_tokenizer_and_template_give_the_twins_ids(twin, exported):
    transformers = pytest.importorskip("transformers")
    tok = transformers.AutoTokenizer.from_pretrained(exported["hf"])
    for messages in CONVERSATIONS[:3]:
        turns, override = turns_of(messages)
        prompt = apply(render_context(turns, SYSTEM if override is None else override))
        text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        assert text == tok.bos_token + prompt
        ids = tok.apply_chat_template(messages, tokenize=True, add_generation_prompt=True, return_dict=True)
        assert ids["input_ids"] == twin.encode_prompt(prompt, twin.block_size)
        assert tok(prompt)["input_ids"] == twin.encode_prompt(prompt, twin.block_size)
    config = json.loads((exported["hf"] / "tokenizer_config.json").read_text())
    for name in ("hf", "peft", "litgpt"):
        assert (exported[name] / "chat_template.jinja").read_text() == config["chat_template"]
    generation = json.loads((exported["hf"] / "generation_config.json").read_text())
    assert generation["stop_strings"] == list(STOP_STRINGS) and generation["eos_token_id"] == twin.eos_id


def test_hf_generate_reproduces_doppel_chat(twin_dirs, exported, capsys):
    transformers = pytest.importorskip("transformers")
    _, base, adapter = twin_dirs
    model = transformers.AutoModelForCausalLM.from_pretrained(exported["hf"]).eval()
    tok = transformers.AutoTokenizer.from_pretrained(exported["hf"])
    for message in ("Hello what are you doing?", "Great movie tomorrow!"):
        capsys.readouterr()
        rc = doppel_main(["chat", "--params", str(PARAMS), "--base", str(base), "--adapter", str(adapter),
                          "--message", message, "--temperature", "0", "--seed", "5", "--max-new-tokens", "24",
                          "--device", "cpu"])
        assert rc == 0
        reply = capsys.readouterr().out.removesuffix("\n")
        inputs = tok.apply_chat_template([{"role": "user", "content": message}], add_generation_prompt=True,
                                         return_dict=True, return_tensors="pt")
        out = model.generate(**inputs, do_sample=False, max_new_tokens=24, tokenizer=tok)
        text = tok.decode(out[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True)
        assert reply == cut_at_stop(text).rstrip("\ufffd").strip()  # the twin holds back a cut UTF-8 character


def test_peft_on_the_exported_base_equals_the_twin(twin, exported, twin_dirs):
    transformers = pytest.importorskip("transformers")
    peft = pytest.importorskip("peft")
    config = json.loads((exported["peft"] / "adapter_config.json").read_text())
    assert (config["r"], config["lora_alpha"], config["modules_to_save"]) == (4, 8, None)
    assert config["target_modules"] == ["down_proj", "gate_proj", "k_proj", "lm_head", "o_proj", "q_proj", "up_proj",
                                        "v_proj"]
    assert config["base_model_name_or_path"] == str(twin_dirs[0] / "base-hf")
    base = transformers.AutoModelForCausalLM.from_pretrained(exported["base-hf"])
    model = peft.PeftModel.from_pretrained(base, exported["peft"]).eval()
    diff = max_logit_diff(twin.model, model, val_prompts(twin))
    assert diff <= FP32_TOL, diff


def test_litgpt_loads_the_merged_dir(twin, exported):
    import litgpt

    out = exported["litgpt"]
    model = litgpt.GPT(litgpt.Config.from_file(out / "model_config.yaml"))
    model.load_state_dict(torch.load(out / "lit_model.pth", weights_only=True))
    with torch.no_grad():
        for ids in val_prompts(twin, 3):
            x = torch.tensor([ids])
            assert torch.equal(model.eval()(x), twin.model(x))
    llm = litgpt.LLM.load(str(out), distribute=None)
    llm.distribute(accelerator="cpu", precision="32-true")
    message = "Hello what are you doing?"
    prompt = apply(render_context([(False, message)], SYSTEM))
    assert llm.prompt_style.apply(message) == prompt
    text = llm.generate(message, max_new_tokens=12, temperature=0.0)
    assert cut_at_stop(text).rstrip("\ufffd").strip() == twin.generate(prompt, F.sampling(max_new_tokens=12, temperature=0))
    assert yaml.safe_load((out / "prompt_style.yaml").read_text())["class_path"].startswith("doppel.export.")


# ------------------------------------------------------------------------------ other mapped layouts

def variant(fixture_base: Path, path: Path, *, tie: bool = False, targets=("query", "value", "projection", "mlp"),
            **overrides) -> tuple[Path, Path]:
    """A base of another layout (the fixture's tokenizer, random weights, norms off 1) and a LoRA on `targets`."""
    import shutil

    import litgpt
    import litgpt.lora
    from litgpt.utils import save_config

    path.mkdir(parents=True)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy2(fixture_base / name, path / name)
    config = litgpt.Config(**{**yaml.safe_load((fixture_base / "model_config.yaml").read_text()), **overrides})
    save_config(config, path)
    torch.manual_seed(3)
    sd = litgpt.GPT(config).state_dict()
    for key in sd:
        if "norm" in key:
            sd[key] = 1 + 0.1 * torch.randn_like(sd[key])
    if tie:
        sd["lm_head.weight"] = sd["transformer.wte.weight"].clone()
    torch.save(sd, path / "lit_model.pth")
    adapter = path.with_name(path.name + "-adapter")
    adapter.mkdir()
    lora = litgpt.lora.Config(**{**yaml.safe_load((path / "model_config.yaml").read_text()), "lora_r": 4,
                                 "lora_alpha": 8, **{f"lora_{t}": t in targets for t in
                                                     ("query", "key", "value", "projection", "mlp", "head")}})
    save_config(lora, adapter)
    model = litgpt.lora.GPT(lora)
    torch.save({k: torch.randn_like(v) * 0.5 if "lora_B" in k else v for k, v in model.state_dict().items()
                if "lora_" in k}, adapter / "adapter.pth")
    return path, adapter


VARIANTS = {
    "llama-gqa-llama3-rope": ("LlamaForCausalLM", dict(n_query_groups=2, rope_base=500000, rope_adjustments=dict(
        factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0, original_max_seq_len=64))),
    "qwen2-tied": ("Qwen2ForCausalLM", dict(name="Qwen2.5-tiny", attn_bias=True, n_query_groups=2, norm_eps=1e-6,
                                            tie=True)),
    "qwen3-head-dim": ("Qwen3ForCausalLM", dict(name="Qwen3-tiny", norm_qk=True, n_query_groups=1, head_size=32)),
}


@pytest.mark.parametrize("name", VARIANTS)
def test_other_layouts_export_exactly(name, twin_dirs, tmp_path, capsys):
    transformers = pytest.importorskip("transformers")
    peft = pytest.importorskip("peft")
    from doppel.model.load import load

    arch, overrides = VARIANTS[name]
    base, adapter = variant(twin_dirs[1], tmp_path / name, **overrides)
    twin = load(base, adapter, device="cpu")
    common = ["--base", base, "--adapter", adapter]
    assert export(capsys, "--to", "hf", "--out", tmp_path / "hf", *common)[0] == 0
    assert export(capsys, "--to", "hf", "--no-adapter", "--out", tmp_path / "base-hf", *common)[0] == 0
    assert export(capsys, "--to", "peft", "--out", tmp_path / "peft", *common)[0] == 0
    hf_config = json.loads((tmp_path / "hf" / "config.json").read_text())
    assert hf_config["architectures"] == [arch] and hf_config["tie_word_embeddings"] == overrides.get("tie", False)
    merged = transformers.AutoModelForCausalLM.from_pretrained(tmp_path / "hf").eval()
    assert type(merged).__name__ == arch
    prompts = val_prompts(twin, 3)
    assert max_logit_diff(twin.model, merged, prompts) <= FP32_TOL
    on_base = peft.PeftModel.from_pretrained(
        transformers.AutoModelForCausalLM.from_pretrained(tmp_path / "base-hf"), tmp_path / "peft").eval()
    assert max_logit_diff(twin.model, on_base, prompts) <= FP32_TOL
    targets = json.loads((tmp_path / "peft" / "adapter_config.json").read_text())["target_modules"]
    assert targets == ["down_proj", "gate_proj", "o_proj", "q_proj", "up_proj", "v_proj"]


# ----------------------------------------------------------------------------------------- bad input

def assert_one_line_error(rc: int, err: str, *needles: str) -> None:
    assert rc == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("doppel export: error: "), err
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_no_adapter_yet_is_one_line(twin_dirs, tmp_path, capsys):
    rc, err = export(capsys, "--base", twin_dirs[1], "--adapter", tmp_path / "models" / "adapter", "--out", tmp_path / "o")
    assert_one_line_error(rc, err, "adapter not found")
    assert not (tmp_path / "o").exists()


def test_export_dir_not_empty_is_one_line(twin_dirs, tmp_path, capsys):
    _, base, adapter = twin_dirs
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "keep.txt").write_text("mine")
    rc, err = export(capsys, "--to", "hf", "--base", base, "--adapter", adapter, "--out", tmp_path / "o")
    assert_one_line_error(rc, err, "exists and is not empty")
    assert [p.name for p in tmp_path.iterdir()] == ["o"] and (tmp_path / "o" / "keep.txt").read_text() == "mine"
    (tmp_path / "o" / "keep.txt").unlink()  # an empty dir is fine
    assert export(capsys, "--to", "peft", "--base", base, "--adapter", adapter, "--out", tmp_path / "o")[0] == 0
    assert (tmp_path / "o" / "adapter_model.safetensors").is_file()


@pytest.mark.parametrize("to", ["peft", "hf"])
def test_unsupported_family_is_one_line(twin_dirs, tmp_path, capsys, to):
    base, adapter = variant(twin_dirs[1], tmp_path / "phi", name="Phi-3-tiny")
    rc, err = export(capsys, "--to", to, "--base", base, "--adapter", adapter, "--out", tmp_path / "o")
    assert_one_line_error(rc, err, "Phi-3-tiny", "--to litgpt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["phi", "phi-adapter"]  # no output, no temp dir left
    assert export(capsys, "--to", "litgpt", "--base", base, "--adapter", adapter, "--out", tmp_path / "o")[0] == 0


def test_head_lora_on_tied_base_is_refused_for_peft(twin_dirs, tmp_path, capsys):
    base, adapter = variant(twin_dirs[1], tmp_path / "tied", tie=True, targets=("query", "head"))
    rc, err = export(capsys, "--to", "peft", "--base", base, "--adapter", adapter, "--out", tmp_path / "o")
    assert_one_line_error(rc, err, "tied-embedding")
    rc, err = export(capsys, "--to", "peft", "--no-adapter", "--base", base, "--out", tmp_path / "o")
    assert_one_line_error(rc, err, "--no-adapter")
    assert export(capsys, "--to", "hf", "--base", base, "--adapter", adapter, "--out", tmp_path / "hf")[0] == 0
    assert json.loads((tmp_path / "hf" / "config.json").read_text())["tie_word_embeddings"] is False


def test_bfloat16_export(twin, twin_dirs, tmp_path, capsys):
    transformers = pytest.importorskip("transformers")
    from safetensors import safe_open

    _, base, adapter = twin_dirs
    rc, _ = export(capsys, "--to", "hf", "--dtype", "bfloat16", "--base", base, "--adapter", adapter,
                   "--out", tmp_path / "bf16")
    assert rc == 0
    assert json.loads((tmp_path / "bf16" / "config.json").read_text())["torch_dtype"] == "bfloat16"
    with safe_open(tmp_path / "bf16" / "model.safetensors", "pt") as f:
        assert {f.get_tensor(k).dtype for k in f.keys()} == {torch.bfloat16}
    model = transformers.AutoModelForCausalLM.from_pretrained(tmp_path / "bf16").eval()
    assert model.dtype == torch.bfloat16
    ids = torch.tensor([val_prompts(twin, 1)[0]])
    with torch.no_grad():
        expected, got = twin.model(ids)[0, -1], model(ids).logits[0, -1].float()
    assert torch.argmax(got) == torch.argmax(expected)
    assert float((got - expected).abs().max()) < 0.05 * float(expected.abs().max())
