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


def env() -> dict[str, str]:
    e = dict(os.environ, DVC_NO_ANALYTICS="1", PYTHONUNBUFFERED="1")
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
