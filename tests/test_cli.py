"""The `doppel` command: help, version, one flag vocabulary, and one-line errors (exit 2) for bad params,
a missing project root and a device that is not there."""
from __future__ import annotations

import re
import shutil
import subprocess

import pytest
import yaml

from conftest import BIN, ROOT, doppel, env
from doppel import cli, config

STAGES = list(cli.STAGES)


def test_help_lists_every_stage_and_command():
    proc = doppel("--help", check=True)
    for name in [*cli.STAGES, *cli.COMMANDS]:
        assert re.search(rf"^  {name} +\S", proc.stdout, re.M), name
    from doppel.bench.command import BENCHES
    bench = next(line for line in proc.stdout.splitlines() if line.startswith("  bench "))
    assert f"`bench {'|'.join(BENCHES)}`" in bench, bench  # bench scrub was left out


def test_version_is_the_package_version():
    from importlib.metadata import version

    proc = doppel("--version", check=True)
    assert proc.stdout.strip() == f"doppel {version('doppel')}"


def test_unknown_command_is_refused():
    proc = doppel("ingset")
    assert proc.returncode == 2
    assert proc.stderr.startswith("doppel: unknown command 'ingset'")


@pytest.mark.parametrize("name", STAGES)
def test_every_stage_has_the_shared_flags_each_with_help(name):
    proc = doppel(name, "--help", cwd=ROOT, check=True)
    flags = re.findall(r"^  (--[a-z-]+)", proc.stdout, re.M)
    assert "--params" in flags and "--output" in flags, proc.stdout
    # argparse puts the help text on the flag's line or the next one: no flag may go without
    blocks = re.split(r"\n(?=  -)", proc.stdout.split("options:", 1)[1])
    for block in blocks[1:]:
        words = block.split()
        assert len(words) > 1 + block.split("\n")[0].count(" ") // 40, f"{name}: flag without help: {block!r}"


@pytest.mark.parametrize("name", STAGES)
def test_help_works_outside_the_project(name, tmp_path):
    """Help needs no project root (a stage's flags come from the project doppel was installed from); only a
    run does. The help is the one the project root gives."""
    proc = doppel(name, "-h" if name == "build" else "--help", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout.startswith(f"usage: doppel {name}"), proc.stderr
    assert proc.stderr == "" and proc.stdout == doppel(name, "--help", cwd=ROOT).stdout


@pytest.mark.parametrize("name", STAGES)
def test_a_stage_run_outside_the_project_says_so(name, tmp_path):
    # `doppel scrub` with no file flags is the stdin filter, which works anywhere
    proc = doppel(name, *(["--input", "m.parquet"] if name == "scrub" else []), cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (f"doppel {name}: error: {tmp_path}/stages/{name}.py: not found: run "
                                   f"`doppel {name}` from the project root (the folder with dvc.yaml)")


def test_chat_outside_the_project_names_the_params_file(tmp_path):
    proc = doppel("chat", "--message", "hi", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("doppel chat: error: params.yaml: params file not found "
                                   "(run doppel from the project root, or pass --params)")


def project(tmp_path, section: str, key: str, value) -> None:
    """A copy of the project's stages and params.yaml with one bad value."""
    shutil.copytree(ROOT / "stages", tmp_path / "stages")
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params[section][key] = value
    (tmp_path / "other.yaml").write_text(yaml.safe_dump(params))


BAD_VALUES = [
    ("build", "val_share", 1.5, "build.val_share: input should be less than 1 (got 1.5)"),
    ("build", "val_share", -0.2, "build.val_share: input should be greater than 0 (got -0.2)"),
    ("build", "context_tokens", "abc", "build.context_tokens: input should be a valid integer"),
    ("segment", "session_gap_hour", 24, "segment.session_gap_hour: unknown key (did you mean session_gap_hours?)"),
    ("train", "batch_size", 7, "train.batch_size: must be a multiple of micro_batch_size (4) (got 7)"),
    ("train", "schedule", "cosin", "train.schedule: input should be 'cosine', 'linear' or 'constant'"),
    ("base", "checkpoint_dir", "", "base.checkpoint_dir: string should have at least 1 character"),
    ("evaluate", "top_p", 0, "evaluate.top_p: input should be greater than 0 (got 0)"),
    ("ingest", "chat_types", "personal_chat", "ingest.chat_types: input should be a valid list"),
    ("train", "max_seq_length", 0, "train.max_seq_length: input should be greater than or equal to 8 (got 0)"),
    ("base", "tiny", {"n_embd": 65}, "base.tiny."),
]


@pytest.mark.parametrize("section,key,value,message", BAD_VALUES, ids=[f"{s}.{k}={v}" for s, k, v, _ in BAD_VALUES])
def test_a_bad_value_is_one_line_naming_the_file_read(section, key, value, message, tmp_path):
    project(tmp_path, section, key, value)
    proc = doppel(section, "--params", "other.yaml", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"doppel {section}: error: other.yaml: {message}"), proc.stderr


def test_scrub_stage_bad_value_is_one_line(tmp_path):
    project(tmp_path, "scrub", "use_export_entities", "maybe")
    proc = doppel("scrub", "--params", "other.yaml", "--input", "m.parquet", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith("doppel scrub: error: other.yaml: scrub.use_export_entities: input should be a "
                                  "valid boolean"), proc.stderr


def test_chat_bad_value_and_flag_override_are_checked_alike(tmp_path):
    project(tmp_path, "chat", "temperature", "abc")
    proc = doppel("chat", "--params", "other.yaml", "--message", "hi", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert proc.stderr.startswith("doppel chat: error: other.yaml: chat.temperature: input should be a valid number")
    proc = doppel("chat", "--top-p", "7", "--message", "hi", cwd=ROOT)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert proc.stderr.startswith("doppel chat: error: --top-p: chat.top_p: input should be less than or equal to 1")


def test_unknown_section_and_missing_key(tmp_path):
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["bulid"] = {}
    del params["build"]["val_share"]
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(params))
    with pytest.raises(config.InputError, match=r"p\.yaml: bulid: unknown section \(did you mean build\?\)"):
        config.load("build", path)
    del params["bulid"]
    path.write_text(yaml.safe_dump(params))
    with pytest.raises(config.InputError, match=r"build\.val_share: missing"):
        config.load("build", path)


def test_every_section_of_the_project_params_is_valid():
    data = config.read(ROOT / "params.yaml")
    assert sorted(data) == sorted(config.SECTIONS)
    for name in config.SECTIONS:
        assert config.load(name, ROOT / "params.yaml") is not None


COMMAND_BAD_VALUES = [
    ("chat", "temperature", -1, "chat.temperature: input should be greater than or equal to 0"),
    ("serve", "port", "abc", "serve.port: input should be a valid integer"),
    ("bot", "mode", "Auto", "bot.mode: input should be 'draft' or 'auto'"),
    ("fetch", "batch_size", 0, "fetch.batch_size: input should be greater than or equal to 1 (got 0)"),
]


@pytest.mark.parametrize("section,key,value,message", BAD_VALUES + COMMAND_BAD_VALUES,
                         ids=[f"{s}.{k}={v}" for s, k, v, _ in BAD_VALUES + COMMAND_BAD_VALUES])
def test_check_finds_a_bad_value_in_any_section(section, key, value, message, tmp_path):
    """`doppel check` (the first DVC stage, and `make repro`'s first step): the same line as the stage that reads
    the section, whichever section it is in, and no report written."""
    project(tmp_path, section, key, value)
    proc = doppel("check", "--params", "other.yaml", "--output", "r.json", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"doppel check: error: other.yaml: {message}"), proc.stderr
    assert not (tmp_path / "r.json").exists()


def test_check_refuses_a_missing_section_and_its_report_never_changes_while_valid(tmp_path):
    project(tmp_path, "train", "lr", 0.001)
    proc = doppel("check", "--params", "other.yaml", "--output", "a.json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    params = yaml.safe_load((tmp_path / "other.yaml").read_text())
    params["segment"]["session_gap_hours"] = 12  # another valid value: the same report, so nothing reruns
    (tmp_path / "other.yaml").write_text(yaml.safe_dump(params))
    assert doppel("check", "--params", "other.yaml", "--output", "b.json", cwd=tmp_path).returncode == 0
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    assert yaml.safe_load((tmp_path / "a.json").read_text())["valid"] is True
    del params["bot"]
    (tmp_path / "other.yaml").write_text(yaml.safe_dump(params))
    proc = doppel("check", "--params", "other.yaml", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr == "doppel check: error: other.yaml: bot: section missing (every knob has its value in params.yaml)\n"


@pytest.mark.parametrize("name", ["fetch", "bot"])
def test_both_commands_that_log_in_name_the_telegram_credentials(name):
    shown = " ".join(doppel(name, "--help", check=True).stdout.split())
    assert "TELEGRAM_API_ID and TELEGRAM_API_HASH from https://my.telegram.org" in shown
    assert "the same for doppel fetch and doppel bot" in shown and "telegram.toml" in shown


def test_an_output_path_that_cannot_be_written_is_one_line(tmp_path):
    """A file where the output's folder should be (was a FileExistsError traceback, exit 1), the stage and
    `doppel check` alike; the full disk of a piped `doppel scrub` too."""
    (tmp_path / "taken").write_text("a file\n")
    for args in (["check", "--output", tmp_path / "taken" / "params.json"],
                 ["ingest", "--output", tmp_path / "taken" / "messages.parquet", "--report", tmp_path / "r.json"]):
        proc = doppel(*args, cwd=ROOT)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.strip() == f"doppel {args[0]}: error: {tmp_path / 'taken'}: a file where a folder is needed"
    with open("/dev/full", "wb") as disk_full:
        full = subprocess.run([str(BIN / "doppel"), "scrub", "--no-names"], input=b"hi\n", stdout=disk_full,
                              stderr=subprocess.PIPE, cwd=ROOT, env=env())
    assert full.returncode == 2 and full.stderr.decode().strip() == "doppel scrub: error: output: no space left on device"
