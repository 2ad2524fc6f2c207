"""doppel.config's reading of the params file: each problem one line naming the file (or the flag) and the key,
exact; sections resolved across keys (context_tokens: null); flags merged over the file."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from conftest import ROOT
from doppel import config
from doppel.errors import InputError


def params(tmp_path: Path, edit=None, name="params.yaml", text: str | None = None) -> Path:
    path = tmp_path / name
    if text is not None:
        path.write_text(text, encoding="utf-8")
        return path
    values = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    if edit:
        edit(values)
    path.write_text(yaml.safe_dump(values, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def problem(fn, *args, **kwargs) -> str:
    with pytest.raises(InputError) as err:
        fn(*args, **kwargs)
    return str(err.value)


def test_the_file_itself(tmp_path):
    missing = tmp_path / "params.yaml"
    assert problem(config.read, missing) == f"{missing}: params file not found (run doppel from the project root, " \
                                            "or pass --params)"
    other = tmp_path / "mine.yaml"
    assert problem(config.read, other) == f"{other}: params file not found (no such file)"
    bad = params(tmp_path, text="a: 1\nb: [\n")
    assert problem(config.read, bad) == f"{bad}: not valid YAML (line 3)"
    bad = params(tmp_path, name="bytes.yaml")
    bad.write_bytes(b"\xff\xfe\x00a")
    assert problem(config.read, bad) == f"{bad}: not valid YAML"
    for text in ("- 1\n", "just text\n", ""):
        path = params(tmp_path, text=text)
        assert problem(config.read, path) == f"{path}: expected a mapping of sections (ingest:, scrub:, ...)"
    path = params(tmp_path, text="buld: {}\n")
    assert problem(config.read, path) == f"{path}: buld: unknown section (did you mean build?)"
    assert problem(config.read, params(tmp_path, text="zzzzzz: {}\n")).endswith(
        ": zzzzzz: unknown section (known: " + ", ".join(config.SECTIONS) + ")")
    assert config.read(params(tmp_path, text="build: {}\n")) == {"build": {}}
    assert config.read(ROOT / "params.yaml").keys() == set(config.SECTIONS)


def test_sections_known_and_their_models():
    assert list(config.SECTIONS) == ["ingest", "scrub", "segment", "memory", "build", "evaluate", "base", "train",
                                     "sample", "fetch", "chat", "serve", "export", "bot", "quiz"]
    assert config.section_model("build") is config.BuildConfig
    assert config.section_model("serve").__name__ == "ServeConfig" and config.ServeConfig.__name__ == "ServeConfig"
    with pytest.raises(AttributeError, match="module 'doppel.config' has no attribute 'Nope'"):
        config.Nope  # noqa: B018


def test_load_a_section_and_its_source(tmp_path):
    path = params(tmp_path)
    cfg = config.load("build", path)
    assert cfg.val_share == yaml.safe_load(path.read_text())["build"]["val_share"] and cfg.source == path
    other = params(tmp_path, text="chat: {}\n", name="other.yaml")
    assert problem(config.load, "build", other) == f"{other}: build: section missing"
    evaluate = config.load("evaluate", path)  # no context_tokens knob: nothing resolved into it
    assert "context_tokens" not in evaluate.__dict__ and not hasattr(evaluate, "context_tokens")


@pytest.mark.parametrize("section", ["chat", "serve", "bot"])
def test_context_tokens_null_is_builds_budget(tmp_path, section):
    def edit(v):
        v["build"]["context_tokens"] = 321
        v[section]["context_tokens"] = None
    path = params(tmp_path, edit)
    cfg = config.load(section, path)
    assert cfg.context_tokens == 321 and cfg.source == path

    def own(v):
        v["build"]["context_tokens"] = 321
        v[section]["context_tokens"] = 99
    assert config.load(section, params(tmp_path, own)).context_tokens == 99


def test_flags_over_the_file_and_their_errors(tmp_path):
    path = params(tmp_path)
    cfg = config.load("chat", path, overrides={"temperature": 0.25, "top_k": None})
    assert (cfg.temperature, cfg.top_k) == (0.25, None)
    assert problem(config.load, "chat", path, overrides={"max_new_tokens": 0}) == \
        "--max-new-tokens: chat.max_new_tokens: input should be greater than or equal to 1 (got 0)"
    assert problem(config.load, "chat", path, overrides={"top_k": 5, "top_p": 0}) == \
        "--top-p: chat.top_p: input should be greater than 0 (got 0)"

    def bad_file(v):
        v["chat"]["max_new_tokens"] = 0
    assert problem(config.load, "chat", params(tmp_path, bad_file), overrides={"top_k": 5}) == \
        f"{tmp_path / 'params.yaml'}: chat.max_new_tokens: input should be greater than or equal to 1 (got 0)"
    nested = config._merged({"a": 1, "tiny": {"x": 1, "y": 2}, "s": 3}, {"tiny": {"y": 5}, "s": {"k": 1}})
    assert nested == {"a": 1, "tiny": {"x": 1, "y": 5}, "s": {"k": 1}}
    cfg = config.load("base", path, overrides={"tiny": {"n_layer": 3}})
    assert cfg.tiny.n_layer == 3 and cfg.tiny.n_head == yaml.safe_load(path.read_text())["base"]["tiny"]["n_head"]


def test_keys_unknown_missing_nested_and_across(tmp_path):
    def misspelt(v):
        v["build"]["val_shar"] = v["build"].pop("val_share")
    assert problem(config.load, "build", params(tmp_path, misspelt)).endswith(
        ": build.val_shar: unknown key (did you mean val_share?)")

    def unknown(v):
        v["build"]["qqqqqq"] = 1
    assert problem(config.load, "build", params(tmp_path, unknown)).endswith(
        ": build.qqqqqq: unknown key (known: " + ", ".join(config.BuildConfig.model_fields) + ")")

    def missing(v):
        del v["build"]["val_share"]
    assert problem(config.load, "build", params(tmp_path, missing)).endswith(
        ": build.val_share: missing (every knob has its value in params.yaml)")

    def nested(v):
        v["base"]["tiny"]["n_layr"] = v["base"]["tiny"].pop("n_layer")
    assert problem(config.load, "base", params(tmp_path, nested)).endswith(
        ": base.tiny.n_layr: unknown key (did you mean n_layer?)")

    def heads(v):
        v["base"]["tiny"].update(n_embd=30, n_head=4)
    assert problem(config.load, "base", params(tmp_path, heads)).endswith(
        ": base.tiny.n_embd: must be a multiple of n_head (4) (got 30)")

    def not_a_mapping(v):
        v["build"] = [1]
    path = params(tmp_path, not_a_mapping)
    assert problem(config.load, "build", path) == f"{path}: build: should be a mapping of keys, got list"


def test_check_every_section(tmp_path):
    path = params(tmp_path)
    assert config.check(path) == {"params": "params.yaml", "valid": True}

    def drop(v):
        del v["quiz"]
    path = params(tmp_path, drop)
    assert problem(config.check, path) == f"{path}: quiz: section missing (every knob has its value in params.yaml)"

    def bad(v):
        v["bot"]["history_messages"] = 0
    path = params(tmp_path, bad, name="mine.yaml")  # the file checked is the one named (not params.yaml)
    assert problem(config.check, path) == \
        f"{path}: bot.history_messages: input should be greater than or equal to 1 (got 0)"
