"""The twin-quality formulas on hand-computed inputs (doppel.evaluation.quality)."""
import math

import pytest

from doppel.evaluation import quality


def test_loss_per_byte_counts_utf8_bytes():
    # "ok" 2 bytes + "да" 4 bytes (Cyrillic: 2 bytes a letter) = 6 bytes; 3.0 nats / 6 = 0.5
    assert quality.loss_per_byte(3.0, ["ok", "да"]) == pytest.approx(0.5)
    assert quality.loss_per_byte(1.0, ["🙂"]) == pytest.approx(0.25)   # 4 bytes
    assert math.isnan(quality.loss_per_byte(1.0, []))
    assert math.isnan(quality.loss_per_byte(1.0, [""]))


def test_context_lift_is_other_minus_true():
    assert quality.context_lift(true_context_bpb=1.2, other_context_bpb=1.5) == pytest.approx(0.3)
    assert quality.context_lift(1.5, 1.2) == pytest.approx(-0.3)     # context misleads: negative
    assert quality.context_lift(1.4, 1.4) == 0.0                     # context ignored


def test_fluency_is_a_ratio_to_the_owner():
    assert quality.fluency(2.6, 1.3) == pytest.approx(2.0)
    assert quality.fluency(1.3, 1.3) == pytest.approx(1.0)
    assert math.isnan(quality.fluency(1.0, 0.0))


def test_shifted_contexts_take_another_session():
    rows = [{"session": 1, "instruction": "a", "output": "x"},
            {"session": 1, "instruction": "b", "output": "y"},
            {"session": 2, "instruction": "c", "output": "z"}]
    shifted = quality.shifted_contexts(rows)
    assert [(r["instruction"], r["output"]) for r in shifted] == [("c", "x"), ("c", "y"), ("a", "z")]
    assert quality.shifted_contexts(rows[:2]) == []                  # one session: nothing to swap
