"""The whole pipeline through real `dvc repro` in throwaway git+DVC repos, with small params; sharing through
a local-folder remote and a real S3-compatible server (moto on 127.0.0.1); privacy canaries."""
from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

import pytest

from tests.conftest import BIN, CANARY, copy_repo, doppel, run

DATA_OUTS = ["data/interim/messages.parquet", "data/interim/messages_clean.parquet", "data/interim/turns.parquet",
             "data/interim/memory.parquet"]


def dvc(*args, cwd, check=True):
    return run(BIN / "dvc", *args, cwd=cwd, check=check)


def files_containing(root: Path, needle: bytes) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and needle in p.read_bytes()]


@pytest.fixture(scope="module")
def repo(reproduced_repo, tmp_path_factory) -> Path:
    """A copy of the session's reproduced repo (conftest.reproduced_repo): these tests change it."""
    return copy_repo(reproduced_repo, tmp_path_factory.mktemp("pipeline") / "repo")


@pytest.mark.slow
def test_repro_runs_everything_and_then_nothing(repo):
    metrics = json.loads((repo / "metrics" / "eval.json").read_text())
    for key in ("bpb", "lift", "fluency", "style_gap_closed", "authorship"):
        assert key in metrics
    assert metrics["bpb"]["twin"] < metrics["bpb"]["base"] and isinstance(metrics["lift"], float)
    assert (repo / "reports" / "samples.md").read_text().strip()
    assert sorted(p.name for p in (repo / "models" / "adapter").iterdir()) == sorted(
        ["adapter.pth", "model_config.yaml", "prompt_style.yaml", "train.json"])
    assert "up to date" in dvc("status", cwd=repo).stdout
    second = dvc("repro", cwd=repo).stdout
    assert "didn't change" in second and "Running stage" not in second


@pytest.mark.slow
def test_repro_force_gives_identical_lock(repo):
    """Everything is sorted and seeded: rerunning every stage from scratch writes the same dvc.lock."""
    lock = (repo / "dvc.lock").read_text()
    dvc("repro", "-f", cwd=repo)
    assert (repo / "dvc.lock").read_text() == lock


@pytest.mark.slow
def test_canary_never_reaches_git_tracked_outputs(repo):
    tracked = run("git", "ls-files", cwd=repo).stdout.split()
    leaked = [f for f in tracked if not f.startswith("data/raw") and CANARY.encode() in (repo / f).read_bytes()]
    assert leaked == []
    assert files_containing(repo / "data" / "processed", CANARY.encode()) == []


def push_and_check(repo: Path, remote_root: Path | None, remote_url: str, extra_config: dict) -> None:
    dvc("remote", "add", "-f", "-d", "store", remote_url, cwd=repo)
    for key, value in extra_config.items():
        dvc("remote", "modify", "--local", "store", key, value, cwd=repo)
    dvc("push", cwd=repo)
    if remote_root is not None:
        assert files_containing(remote_root, CANARY.encode()) == []
        assert_no_private_outs(repo, [str(p.relative_to(remote_root)) for p in remote_root.rglob("*") if p.is_file()])


def assert_no_private_outs(repo: Path, stored_paths: list[str]) -> None:
    """The remote's content-addressed files (.../files/md5/ab/cdef...) hold the shared outputs and none of the
    raw/interim ones."""
    import yaml

    stages = yaml.safe_load((repo / "dvc.lock").read_text())["stages"]
    outs = {o["path"]: o["md5"] for s in stages.values() for o in s.get("outs", []) if "md5" in o}
    stored = {"".join(p.split("/")[-2:]) for p in stored_paths}
    assert outs["data/processed/train.json"] in stored  # the check reads the remote's layout right
    private = {outs[p] for p in DATA_OUTS}
    assert not private & stored, "raw/interim data reached the remote"


def clone_pull_and_chat(repo: Path, dest: Path, extra_config: dict) -> None:
    run("git", "clone", "-q", str(repo), str(dest), cwd=repo.parent)
    for key, value in extra_config.items():
        dvc("remote", "modify", "--local", "store", key, value, cwd=dest)
    dvc("pull", "--allow-missing", cwd=dest)
    assert (dest / "data" / "processed" / "train.json").exists()
    assert (dest / "models" / "adapter" / "adapter.pth").exists()
    for private in DATA_OUTS:
        assert not (dest / private).exists()
    reply = doppel("chat", "--message", "привет, как дела?", "--seed", "1", cwd=dest)
    assert reply.returncode == 0 and reply.stdout.strip(), reply.stderr


@pytest.mark.slow
def test_share_through_a_local_remote(repo, tmp_path):
    store = tmp_path / "store"
    push_and_check(repo, store, str(store), {})
    run("git", "commit", "-qam", "remote", cwd=repo)
    clone_pull_and_chat(repo, tmp_path / "clone", {})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_share_through_s3(repo, tmp_path, monkeypatch):
    pytest.importorskip("dvc_s3")
    from moto.server import ThreadedMotoServer

    import boto3

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    try:
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            monkeypatch.setenv(key, "testing")
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        endpoint = f"http://127.0.0.1:{port}"
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        s3.create_bucket(Bucket="doppel")
        config = {"endpointurl": endpoint, "access_key_id": "testing", "secret_access_key": "testing"}
        push_and_check(repo, None, "s3://doppel/store", config)
        keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket="doppel")
                for o in page.get("Contents", [])]
        assert keys
        assert_no_private_outs(repo, keys)
        for key in keys:
            assert CANARY.encode() not in s3.get_object(Bucket="doppel", Key=key)["Body"].read()
        run("git", "commit", "-qam", "s3 remote", cwd=repo, check=False)
        clone_pull_and_chat(repo, tmp_path / "clone", config)
    finally:
        server.stop()
        dvc("remote", "remove", "store", cwd=repo, check=False)
        shutil.rmtree(tmp_path / "clone", ignore_errors=True)
