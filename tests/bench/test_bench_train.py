"""`doppel bench train` runs end to end on CPU with a tiny config and prints its comparison line."""
from __future__ import annotations

import json

import pytest

from conftest import doppel
from doppel.bench import command as bench
from doppel.sample.rows import synthetic_rows


def test_synthetic_rows_look_like_the_dataset():
    rows = synthetic_rows(200, seed=4, context_words=50)
    assert len(rows) == 200
    assert all(r["instruction"].startswith("A Telegram chat") and r["output"] and r["input"] == "" for r in rows)
    assert all(r["instruction"].splitlines()[-1].startswith(("Me: ", "Them: ")) for r in rows)
    assert synthetic_rows(50, seed=4, context_words=50) == rows[:50]  # seeded


def test_bench_train_runs_on_cpu_and_prints_its_line(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert bench.main(["train", "--config", "tiny", "--seq", "128", "--steps", "2", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "bench train | tiny seq 128" in text
    assert "ours   :" in text and "litgpt :" in text and "x effective tokens/s (ours / litgpt finetune_lora" in text
    result = json.loads(out.read_text())
    assert result["ours"]["tokens_per_s"] > 0 and result["ours"]["mfu"] > 0
    assert result["litgpt"]["tokens_per_s"] > 0 and result["ratio_tokens_per_s"] > 0


@pytest.mark.parametrize("flags, message", [
    (["--steps", "0"], "--steps: 0 (at least 1)"),          # was silently the default (10 steps on CPU)
    (["--micro-batch", "-1"], "--micro-batch: -1 (at least 1)"),
    (["--seq", "0"], "--seq: 0 (at least 1)"),
    (["--config", "pythia-14"], "--config: unknown litgpt config 'pythia-14'"),   # was exit 1, no prefix
])
def test_bench_train_refuses_bad_flags_in_one_line(flags, message):
    proc = doppel("bench", "train", "--skip-litgpt", *flags)
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and message in proc.stderr, proc.stderr
