"""doppel.evaluation.evaluate.run in process, small enough to be mutation-tested: every figure it computes
recomputed here from its parts, on the val rows (never the train rows), the replies seeded chunk by chunk.

One test runs evaluate.run and checks it all: mutmut credits a function to the test that called it, and a module
fixture's calls would go to the first test alone."""
from __future__ import annotations

import json
import math

import pytest

from support import twin as F
from conftest import cfg as section
from doppel.evaluation import evaluate, placeholders, quality, report, rows
from doppel.evaluation.style import catchphrases

GEN, LOSS, BATCH = 5, 6, 1  # 5 rows, one per batch: seeds 7 .. 11


class Clock:
    """evaluate's perf_counter, one second per reading: the timings are exact, whatever the machine's speed."""

    def __init__(self):
        self.now = 0.0

    def perf_counter(self) -> float:
        self.now += 1.0
        return self.now


def test_every_figure_of_a_run(tiny_twin, tmp_path_factory, one_thread, monkeypatch):
    monkeypatch.setattr(evaluate, "time", Clock())
    result = evaluate_run(tiny_twin, tmp_path_factory)
    # each model: load, loss and generate one reading apart
    assert result[-1].timings == {"load": 2.0, "loss": 2.0, "generate": 2.0}
    losses_on_the_val_rows_picked_by_the_seed(result)
    replies_seeded_chunk_by_chunk_on_the_val_rows(result)
    owner_style_from_train_and_the_other_figures(result)


def evaluate_run(tiny_twin, tmp_path_factory):
    ck, ad = tiny_twin
    train, val = F.write_dataset(tmp_path_factory.mktemp("evaluate_run"), n_train=40, n_val=10)
    train_rows, val_rows = (json.loads(p.read_text()) for p in (train, val))
    val_rows = [{**r, "session": r["session_id"]} for r in val_rows]
    cfg = section("evaluate", generate_rows=GEN, loss_rows=LOSS, batch_size=BATCH, max_new_tokens=6, seed=7,
                  threads=1, device="cpu", temperature=0.9, top_k=20, top_p=0.95, catchphrases=4,
                  authorship_max_lines=50)
    return cfg, ck, ad, train_rows, val_rows, evaluate.run(cfg, ck, ad, train_rows, val_rows)


def losses_on_the_val_rows_picked_by_the_seed(result):
    from doppel.model.load import load

    cfg, ck, ad, train, val, ev = result
    m = ev.metrics
    loss_rows = rows.pick_rows(val, LOSS, 7)
    assert loss_rows != rows.pick_rows(val, LOSS, 8) and m["val_rows"] == LOSS
    for adapter, who in ((None, "base"), (ad, "tuned")):
        tw = load(ck, adapter, device="cpu")
        total, count = tw.loss_stats(loss_rows, batch_size=BATCH)
        on_train = tw.loss_stats(rows.pick_rows(train, LOSS, 7), batch_size=BATCH)
        assert m[f"val_loss_{who}"] == round(total / count, report.DIGITS) != round(on_train[0] / on_train[1], 4)
        assert m[f"ppl_{who}"] == round(math.exp(total / count), report.DIGITS)
        assert m[f"bpb_{who}"] == round(quality.loss_per_byte(total, [r["output"] for r in loss_rows]), 4)
        other = quality.shifted_contexts(loss_rows)
        assert m[f"bpb_{who}_other_context"] == round(
            quality.loss_per_byte(tw.loss_stats(other, batch_size=BATCH)[0], [r["output"] for r in other]), 4)
        if adapter is None:
            assert m["val_target_tokens"] == count
            judged = [{**r, "output": t} for r, t in zip(ev.gen_rows, ev.tuned)]
            on_twin = quality.loss_per_byte(tw.loss_stats(judged, batch_size=BATCH)[0], ev.tuned)
            assert m["fluency_base_bpb_on_twin"] == round(on_twin, 4)
            on_owner = quality.loss_per_byte(tw.loss_stats(ev.gen_rows, batch_size=BATCH)[0],
                                             [r["output"] for r in ev.gen_rows])
            assert m["fluency_base_bpb_on_owner"] == round(on_owner, 4) and on_owner != on_twin


def replies_seeded_chunk_by_chunk_on_the_val_rows(result):
    from doppel.model.load import load

    cfg, ck, ad, train, val, ev = result
    assert ev.gen_rows == rows.pick_rows(val, GEN, 7) and ev.metrics["generated_rows"] == GEN
    for adapter, replies in ((ad, ev.tuned), (None, ev.base)):
        tw = load(ck, adapter, device="cpu")
        want = []
        for b, start in enumerate(range(0, GEN, BATCH)):
            chunk = ev.gen_rows[start:start + BATCH]
            want += tw.generate_batch([tw.prompt_for(r["instruction"]) for r in chunk], cfg.sampling.seeded(b))
        assert replies == want and len(want) == GEN
    assert ev.tuned != ev.base


def owner_style_from_train_and_the_other_figures(result):
    cfg, ck, ad, train, val, ev = result
    owner = [r["output"] for r in train]
    assert ev.phrases == catchphrases(owner, rows.other_lines(train), 4, cfg.catchphrase_min_share)
    assert ev.metrics["catchphrases_found"] == len(ev.phrases) > 0
    assert set(ev.profiles) == {"owner", "base", "tuned"}
    assert ev.metrics["placeholder_share_base"] == placeholders.share(ev.base)
    assert ev.metrics["placeholder_share_tuned"] == placeholders.share(ev.tuned)
    assert ev.metrics["quiz_rounds"] == GEN and 0 <= ev.metrics["quiz_fooled"] <= 1


def test_torch_threads_inside_the_block_only():
    import torch

    before = torch.get_num_threads()
    with evaluate.torch_threads(before + 1):
        assert torch.get_num_threads() == before + 1
    assert torch.get_num_threads() == before
    with evaluate.torch_threads(0):
        assert torch.get_num_threads() == before
    with pytest.raises(KeyError):
        with evaluate.torch_threads(before + 1):
            raise KeyError
    assert torch.get_num_threads() == before
