"""The evaluation flow: the base model and the tuned twin on the same val rows (loss, then seeded replies),
compared with the owner's real replies on style and authorship (doppel.evaluation.report assembles them)."""
from __future__ import annotations

import math
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from doppel.config import EvaluateConfig
from doppel.evaluation import facts, placeholders, quality, report
from doppel.evaluation.report import summary  # noqa: F401  (the stage's summary: evaluate.summary)
from doppel.evaluation.authorship import Authorship
from doppel.evaluation.rows import capped, other_lines, pick_rows
from doppel.evaluation.style import catchphrases, spreads
from doppel.memory.block import remove
from doppel.quiz import auto
from doppel.quiz.rounds import make_rounds


@dataclass
class ModelRun:
    loss: float          # mean per reply token
    ppl: float
    tokens: int          # reply tokens scored
    replies: list[str]   # to the generation rows, in order
    bpb: float = math.nan          # loss per byte of the owner's replies (doppel.evaluation.quality)
    bpb_other: float = math.nan    # ... each under another session's context (quality.shifted_contexts)
    judged: dict = field(default_factory=dict)   # the base only: loss per byte on "twin" / "owner" replies
    extra: dict = field(default_factory=dict)    # name -> replies to other rows (the fact questions)


@dataclass
class Evaluation:
    metrics: dict               # flat, rounded: metrics/eval.json
    profiles: dict              # style profile per who (owner, base, tuned)
    phrases: list[str]          # the owner's catchphrases
    gen_rows: list[dict]        # the val rows both models replied to
    base: list[str]
    tuned: list[str]
    timings: dict = field(default_factory=dict)   # seconds, both models (printed, never written)
    facts: dict = field(default_factory=dict)     # fact recall per model (doppel.evaluation.facts), details


@contextmanager
def torch_threads(n: int):
    """`n` torch CPU threads inside the block (0: leave torch's default)."""
    if n <= 0:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def bpb(tw, rows: list[dict], batch_size: int) -> float:
    """Loss per byte of the rows' replies (EOS included in the loss)."""
    return quality.loss_per_byte(tw.loss_stats(rows, batch_size=batch_size)[0], [r["output"] for r in rows])


def run_model(checkpoint: Path, adapter: Path | None, loss_rows: list[dict], gen_rows: list[dict],
              cfg: EvaluateConfig, timings: dict[str, float], judge: list[str] | None = None,
              extra: dict[str, list[dict]] | None = None) -> ModelRun:
    """Loss over `loss_rows` (per token, per byte, per byte under shifted contexts) and seeded replies to
    `gen_rows` for one model (the base when adapter is None). `judge`: the twin's replies to `gen_rows`, scored
    per byte by this model next to the owner's real replies (fluency). `extra`: more rows to reply to, by name."""
    from doppel.model.load import load

    t0 = time.perf_counter()
    tw = load(checkpoint, adapter, device=cfg.device, precision=cfg.precision)
    t1 = time.perf_counter()
    per_row = tw.row_losses(loss_rows, batch_size=cfg.batch_size)
    total, count = sum(n for n, _ in per_row), sum(c for _, c in per_row)
    loss = total / count if count else math.nan
    per_byte = quality.loss_per_byte(total, [r["output"] for r in loss_rows])
    per_byte_other = bpb(tw, quality.shifted_contexts(loss_rows), cfg.batch_size)
    judged = {} if judge is None else {
        "twin": bpb(tw, [{**r, "output": t} for r, t in zip(gen_rows, judge)], cfg.batch_size),
        "owner": owner_bpb(tw, gen_rows, loss_rows, per_row, cfg.batch_size)}
    t2 = time.perf_counter()
    replies = generate(tw, gen_rows, cfg)
    more = {name: generate(tw, rows, cfg) for name, rows in (extra or {}).items()}
    del tw
    timings["load"] = timings.get("load", 0.0) + t1 - t0
    timings["loss"] = timings.get("loss", 0.0) + t2 - t1
    timings["generate"] = timings.get("generate", 0.0) + time.perf_counter() - t2
    return ModelRun(loss, math.exp(loss) if loss < 700 else math.inf, count, replies, per_byte, per_byte_other,
                    judged, more)


def owner_bpb(tw, rows: list[dict], scored: list[dict], per_row: list[tuple[float, int]], batch_size: int) -> float:
    """Loss per byte of `rows`' real replies, reusing the per-row losses already computed for `scored` (the loss
    rows: all of val by default, so the generation rows are never scored twice)."""
    known = {(r["instruction"], r["output"]): loss for r, (loss, _) in zip(scored, per_row)}
    missing = [r for r in rows if (r["instruction"], r["output"]) not in known]
    known.update({(r["instruction"], r["output"]): loss
                  for r, (loss, _) in zip(missing, tw.row_losses(missing, batch_size))})
    return quality.loss_per_byte(sum(known[(r["instruction"], r["output"])] for r in rows), [r["output"] for r in rows])


def generate(tw, rows: list[dict], cfg: EvaluateConfig) -> list[str]:
    """Seeded replies to the rows, `cfg.batch_size` at a time (batch b decodes with seed + b)."""
    replies: list[str] = []
    bs = max(1, cfg.batch_size)
    for b, start in enumerate(range(0, len(rows), bs)):
        chunk = rows[start:start + bs]
        replies += tw.generate_batch([tw.prompt_for(r["instruction"]) for r in chunk], cfg.sampling.seeded(b))
    return replies


def run(cfg: EvaluateConfig, checkpoint: Path, adapter: Path, train: list[dict], val: list[dict]) -> Evaluation:
    """Base vs tuned on `val`; what the owner sounds like is learnt from `train`."""
    timings = {"load": 0.0, "loss": 0.0, "generate": 0.0}
    owner_train, others_train = [r["output"] for r in train], other_lines(train)
    phrases = catchphrases(owner_train, others_train, cfg.catchphrases, cfg.catchphrase_min_share)
    cap = cfg.authorship_max_lines
    clf = Authorship(capped(owner_train, cap, cfg.seed), capped(others_train, cap, cfg.seed + 1))
    scale = spreads(owner_train + others_train, phrases)

    loss_rows = pick_rows(val, cfg.loss_rows, cfg.seed)
    gen_rows = pick_rows(val, cfg.generate_rows, cfg.seed)
    asked = facts.questions(val)   # every val row that asks a planted fact (none in a real export)
    bare = [{**r, "instruction": remove(r["instruction"], r.get("memory", ""))} for r in asked]
    with torch_threads(cfg.threads):
        tuned = run_model(checkpoint, adapter, loss_rows, gen_rows, cfg, timings,
                          extra={"twin": bare, "twin_memory": asked})
        base = run_model(checkpoint, None, loss_rows, gen_rows, cfg, timings, judge=tuned.replies,
                         extra={"base": bare})
    metrics, profiles = report.assemble(base, tuned, len(loss_rows), gen_rows, val, phrases, clf, scale)
    recall = {name: facts.fact_recall(asked, replies, facts.FACTS)
              for name, replies in {**base.extra, **tuned.extra}.items()}
    metrics.update(facts.metrics(recall, asked))
    metrics.update(placeholders.shares(base.replies, tuned.replies))
    # the blind quiz, played by the classifier: `doppel quiz`'s rounds, built from the twin's replies above
    rounds, _ = make_rounds(gen_rows, tuned.replies, cfg.seed)
    metrics.update(report.rounded(auto.play(clf, rounds)))
    return Evaluation(metrics, profiles, phrases, gen_rows, base.replies, tuned.replies, timings, recall)
