"""Shared test fixtures: paths, a runner for the `doppel` CLI, and throwaway git+DVC repos."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_SAMPLES = ROOT.parent / "shared" / "samples"
BUNDLED_SAMPLE = ROOT / "data" / "sample"
BIN = Path(sys.executable).parent


def pytest_make_parametrize_id(config, val, argname):
    """ASCII test ids: pytest escapes other characters (\\xa0), and such an id given back as an argument is not
    found by a second pytest run in the same process, which is how mutmut's fork server runs tests."""
    if isinstance(val, str) and not val.isascii():
        return "".join(c if c.isascii() and c.isprintable() else "_" for c in val)
    return None


@pytest.fixture(autouse=True)
def _fresh_redaction_caches():
    """Every test computes its redactions itself: an answer cached by an earlier test would hide a planted bug
    from the later one (and from mutmut's record of which tests reach which function)."""
    yield
    for module, name in (("doppel.redact.candidate", "redact_candidate"), ("doppel.redact.secret", "redact_secret"),
                         ("doppel.redact.validators", "phone_ok")):
        if module in sys.modules:
            getattr(sys.modules[module], name).cache_clear()


def env() -> dict[str, str]:
    e = dict(os.environ, DVC_NO_ANALYTICS="1", PYTHONUNBUFFERED="1")
    for name in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES"):  # under `make test` (CI), a make a test runs
        e.pop(name, None)  # would be a sub-make: "make[1]: ***" lines a user's top-level make never prints
    e["PATH"] = f"{BIN}{os.pathsep}{e.get('PATH', '')}"
    return e


def cfg(section: str, **overrides):
    """A params section as the project's params.yaml has it, with `overrides` on top (validated like a user's)."""
    from doppel import config

    path = ROOT / "params.yaml"  # overrides stand for values in the file (not flags), and errors say so
    return config.validate(section, config._merged(config.read(path)[section], overrides), path)


def doppel(*args, cwd=None, input=None, check=False) -> subprocess.CompletedProcess:
    """Run the console script the way a user does."""
    proc = subprocess.run(
        [str(BIN / "doppel"), *map(str, args)], cwd=cwd, input=input, capture_output=True, text=True, env=env()
    )
    if check and proc.returncode:
        raise AssertionError(f"doppel {args} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def run(*args, cwd, check=True) -> subprocess.CompletedProcess:
    proc = subprocess.run([*map(str, args)], cwd=cwd, capture_output=True, text=True, env=env())
    if check and proc.returncode:
        raise AssertionError(f"{args} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def make_dvc_repo(path: Path, params_overrides: dict | None = None) -> Path:
    """A fresh git+DVC repo holding this project's pipeline (dvc.yaml, params.yaml, stages/, the sample)."""
    import yaml

    path.mkdir(parents=True, exist_ok=True)
    for name in ("dvc.yaml", "params.yaml", ".gitignore", ".dvcignore"):
        shutil.copy(ROOT / name, path / name)
    for code in ("stages", "doppel"):  # the stage scripts, and the library files dvc.yaml lists as their deps
        shutil.copytree(ROOT / code, path / code, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(BUNDLED_SAMPLE, path / "data" / "sample")
    if params_overrides:
        params = yaml.safe_load((path / "params.yaml").read_text())
        for dotted, value in params_overrides.items():
            *where, key = dotted.split(".")
            node = params
            for name in where:
                node = node.setdefault(name, {})
            node[key] = value
        (path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False, allow_unicode=True))
    run("git", "init", "-q", cwd=path)
    run("git", "config", "user.email", "test@doppel", cwd=path)
    run("git", "config", "user.name", "test", cwd=path)
    run(BIN / "dvc", "init", "-q", cwd=path)
    run("git", "add", "-A", cwd=path)
    run("git", "commit", "-qm", "init", cwd=path)
    return path


CANARY = "Zq7CANARYx9k2"
SMALL = {
    "base.tiny.pretrain_steps": 12,
    "base.tiny.n_layer": 2,
    "base.tiny.vocab_size": 1024,
    "base.tiny.pretrain_batch": 4,
    "train.max_steps": 8,
    "train.eval_interval": 0,
    "train.checkpoint_interval": 4,
    "evaluate.generate_rows": 6,
    "evaluate.samples": 3,
}
def plant_canaries(export_dir: Path) -> None:
    """A unique string in every private place of a raw export: who you are, contacts, chat names, groups,
    saved messages, and as a password in a personal chat (scrub must take it out)."""
    path = export_dir / "result.json"
    export = orjson.loads(path.read_bytes())
    export["personal_information"]["phone_number"] = f"+7 900 {CANARY}"
    export["personal_information"]["bio"] = CANARY
    export.setdefault("contacts", {"about": "", "list": []})["list"].append({"first_name": CANARY, "phone_number": CANARY})
    for chat in export["chats"]["list"]:
        chat["name"] = f"{chat.get('name')} {CANARY}"
        texts = [m for m in chat["messages"] if m.get("type") == "message" and isinstance(m.get("text"), str)]
        if chat["type"] == "personal_chat":
            for m in texts[5::50]:
                m["text"] = m["text"] + f" my password is {CANARY}"
                m["text_entities"] = [{"type": "plain", "text": m["text"]}]
        else:
            for m in texts[::20]:
                m["text"] = f"{m['text']} {CANARY}"
                m["text_entities"] = [{"type": "plain", "text": m["text"]}]
    path.write_bytes(orjson.dumps(export))


@pytest.fixture(scope="session")
def reproduced_repo(tmp_path_factory) -> Path:
    """One full `dvc repro` with SMALL params on a generated 6,000-message export with canaries planted,
    committed. Built once per session; a module that changes it works on a copy (`copy_repo`)."""
    from doppel import sample

    path = make_dvc_repo(tmp_path_factory.mktemp("reproduced") / "repo", {**SMALL, "ingest.input": "data/raw"})
    sample.write_sample(path / "data" / "raw" / "telegram", 6000, 11)
    plant_canaries(path / "data" / "raw" / "telegram")
    run(BIN / "dvc", "repro", cwd=path)
    run("git", "add", "-A", cwd=path)
    run("git", "commit", "-qm", "repro", cwd=path)
    return path


def copy_repo(src: Path, dest: Path) -> Path:
    """A copy of a git+DVC repo, its cache included (DVC keeps nothing about it outside the folder that a copy
    would share)."""
    shutil.copytree(src, dest, symlinks=True)
    return dest


def write_export(path: Path, obj, indent: int | None = 1) -> Path:
    """Write an export dict the way Telegram Desktop does (one space per level), or minified."""
    import json

    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(obj, ensure_ascii=False, indent=indent) if indent else orjson.dumps(obj).decode()
    path.write_text(text, encoding="utf-8")
    return path


def chat_export(messages: list[dict], chat_id: int = 42, chat_type: str = "personal_chat", name="Friend") -> dict:
    return {"name": name, "type": chat_type, "id": chat_id, "messages": messages}


def msg(mid: int, sender: int, text, unixtime: int, **extra) -> dict:
    m = {
        "id": mid, "type": "message", "date": "2026-01-01T00:00:00", "date_unixtime": str(unixtime),
        "from": f"name{sender}", "from_id": f"user{sender}", "text": text,
        "text_entities": [{"type": "plain", "text": text}] if isinstance(text, str) else [],
    }
    m.update(extra)
    return m


@pytest.fixture(scope="session")
def bundled_sample() -> Path:
    path = BUNDLED_SAMPLE / "result.json"
    if not path.exists():
        pytest.fail("data/sample/result.json is missing: regenerate it with `doppel sample -o data/sample`")
    return path


@pytest.fixture(scope="module")
def one_thread():
    """One torch thread: the tiny model gains nothing from more, and the shared CPU stays steady."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_twin(tmp_path_factory):
    """(base checkpoint, LoRA adapter): a tiny random litgpt model (support/twin.py), shared by the tests that
    talk to a twin. Read-only: a test that damages a checkpoint copies it first."""
    from support import twin as F

    root = tmp_path_factory.mktemp("tiny_twin")
    ck = F.make_checkpoint(root / "base")
    return ck, F.make_adapter(ck, root / "adapter")
