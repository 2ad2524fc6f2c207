"""What evaluation writes: the detailed figures (reports/evaluation.json, flat, rounded), the headline metrics
DVC compares (metrics/eval.json: a handful, short names, so `dvc metrics show` fits a terminal), the samples
report and the printed summary. The style features go to plots (doppel.evaluation.plots), not to metrics."""
from __future__ import annotations

import math
from pathlib import Path

from doppel.evaluation import quality
from doppel.evaluation.authorship import Authorship
from doppel.evaluation.rows import context_turns, other_lines
from doppel.evaluation.style import FEATURES, profile, style_distance

DIGITS = 4


def assemble(base, tuned, n_loss_rows: int, gen_rows: list[dict], val: list[dict], phrases: list[str],
             clf: Authorship, scale: dict[str, float]) -> tuple[dict, dict]:
    """(metrics, style profiles) from the two models' runs (`ModelRun`s) and the owner's real replies.

    `style_gap_closed` = 1 - d(twin, owner) / d(base, owner); `authorship_ratio` = share of twin replies the
    classifier attributes to the owner / the same share for the owner's own replies (1: as convincing);
    `bpb_*`, `lift_*`, `fluency`: doppel.evaluation.quality's loss per byte, context lift and fluency."""
    real = [r["output"] for r in gen_rows]
    prof = {"owner": profile(real, phrases), "base": profile(base.replies, phrases),
            "tuned": profile(tuned.replies, phrases)}
    d_base = style_distance(prof["base"], prof["owner"], scale)
    d_tuned = style_distance(prof["tuned"], prof["owner"], scale)
    gap_closed = 1.0 - d_tuned / d_base if d_base > 1e-12 else 0.0

    share_real = clf.owner_share(real)
    share_base, share_tuned = clf.owner_share(base.replies), clf.owner_share(tuned.replies)
    on_twin, on_owner = base.judged.get("twin", math.nan), base.judged.get("owner", math.nan)  # base judges
    val_others = other_lines(val)
    acc = 0.5 * clf.owner_share([r["output"] for r in val]) + 0.5 * (1 - clf.owner_share(val_others)) \
        if val_others else clf.owner_share([r["output"] for r in val])

    metrics: dict[str, float | int] = {
        "val_loss_base": base.loss, "val_loss_tuned": tuned.loss, "ppl_base": base.ppl, "ppl_tuned": tuned.ppl,
        "val_rows": n_loss_rows, "val_target_tokens": base.tokens, "generated_rows": len(gen_rows),
        "style_gap_closed": gap_closed, "style_distance_base": d_base, "style_distance_tuned": d_tuned,
        "authorship_ratio": share_tuned / share_real if share_real else 0.0,
        "authorship_ratio_base": share_base / share_real if share_real else 0.0,
        "authorship_owner_share_real": share_real, "authorship_owner_share_base": share_base,
        "authorship_owner_share_tuned": share_tuned, "authorship_val_balanced_accuracy": acc,
        "catchphrases_found": len(phrases),
        "bpb_base": base.bpb, "bpb_tuned": tuned.bpb,
        "bpb_base_other_context": base.bpb_other, "bpb_tuned_other_context": tuned.bpb_other,
        "lift_base": quality.context_lift(base.bpb, base.bpb_other),
        "lift_tuned": quality.context_lift(tuned.bpb, tuned.bpb_other),
        "fluency_base_bpb_on_twin": on_twin, "fluency_base_bpb_on_owner": on_owner,
        "fluency": quality.fluency(on_twin, on_owner),
    }
    return rounded(metrics), prof


# headline name -> the detailed figure it shows. Few enough that `dvc metrics show` fits 120 columns (DVC puts 4
# spaces between columns: these take 117); `recall` is the twin's fact recall with memory, shown only when some val
# row asks a planted fact (fact_recall_base and fact_recall_twin, without memory, are in the details); the per-token losses (val_loss_*, not comparable across
# tokenizers), train_rows, the placeholder shares and lift_base (the base's context lift: a reference that only
# the data or the base moves) are in reports/evaluation.json only.
HEADLINE = {
    "authorship": "authorship_ratio",
    "bpb.base": "bpb_base",
    "bpb.twin": "bpb_tuned",
    "fluency": "fluency",
    "lift": "lift_tuned",
    "quiz_fooled": "quiz_fooled",
    "recall": "fact_recall_twin_memory",
    "style_gap_closed": "style_gap_closed",
}


OPTIONAL = {"recall"}   # left out when null (no planted facts: a real export)


def headline(details: dict) -> dict:
    """The figures to compare across runs (metrics/eval.json), nested where DVC shows `loss.base`; a detail
    that is absent (no placeholder measure) is left out."""
    out: dict = {}
    for name, key in HEADLINE.items():
        if key in details and not (name in OPTIONAL and details[key] is None):
            *group, leaf = name.split(".")
            (out.setdefault(group[0], {}) if group else out)[leaf] = details[key]
    return out


def rounded(metrics: dict) -> dict:
    """Floats to DIGITS places; inf and nan (an empty split) become null."""
    return {k: (round(v, DIGITS) if isinstance(v, float) and math.isfinite(v) else (v if isinstance(v, int) else None))
            for k, v in metrics.items()}


def one_line(text: str) -> str:
    return " / ".join(part.strip() for part in text.strip().split("\n")) or "(empty)"


def write_samples(path: Path, rows: list[dict], base: list[str], tuned: list[str], phrases: list[str], n: int) -> None:
    lines = ["# Sample exchanges (val split)", "",
             "The context's last turns, then the owner's real reply, the base model's and the twin's "
             "(generated by `doppel evaluate`, seeded).", ""]
    lines.append("Owner catchphrases (most over-represented n-grams in the training replies): "
                 + (", ".join(f"`{p}`" for p in phrases) if phrases else "(none found)"))
    lines.append("")
    for i, (r, b, t) in enumerate(zip(rows[:n], base, tuned), 1):
        turns = context_turns(r["instruction"])[-4:]
        lines += [f"## {i}. session {r.get('session', '?')}", "", "```text"]
        lines += [f"{who}: {one_line(text)}" for who, text in turns]
        lines += ["```", "", f"- **real:** {one_line(r['output'])}", f"- **base:** {one_line(b)}",
                  f"- **twin:** {one_line(t)}", ""]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")


def summary(m: dict, prof: dict, phrases: list[str], seconds: float, timings: dict[str, float], out: Path,
            samples: Path) -> str:
    def f(v, spec=".3f"):
        return "n/a" if v is None else format(v, spec)

    lines = [
        f"evaluate: {m['val_rows']} val rows ({m['val_target_tokens']} reply tokens), "
        f"{m['generated_rows']} generated, {seconds:.1f} s ("
        + ", ".join(f"{k} {v:.1f}" for k, v in timings.items()) + ")",
        f"  loss        base {f(m['val_loss_base'])}   tuned {f(m['val_loss_tuned'])}",
        f"  perplexity  base {f(m['ppl_base'], '.2f')}   tuned {f(m['ppl_tuned'], '.2f')}",
        f"  per byte    base {f(m['bpb_base'])}   tuned {f(m['bpb_tuned'])}  (nats per byte of the owner's replies)",
        f"  context lift base {f(m['lift_base'])}   tuned {f(m['lift_tuned'])}  (per byte, another session's context "
        f"minus the true one)",
        f"  fluency     {f(m['fluency'])}  (the base's loss per byte on the twin's replies / on the owner's)",
        f"  style gap closed {f(m['style_gap_closed'])}  (distance to the owner: base "
        f"{f(m['style_distance_base'])}, tuned {f(m['style_distance_tuned'])})",
        f"  authorship  tuned {f(m['authorship_ratio'])}   base {f(m['authorship_ratio_base'])}  "
        f"(classifier val balanced accuracy {f(m['authorship_val_balanced_accuracy'])})",
        f"  blind quiz  the classifier picked the twin's reply as real in {f(m.get('quiz_fooled'))} of "
        f"{m.get('quiz_rounds', 0)} rounds (0.5: it cannot tell them apart)",
        f"  fact recall base {f(m.get('fact_recall_base'))}   twin {f(m.get('fact_recall_twin'))}   twin with memory "
        f"{f(m.get('fact_recall_twin_memory'))}  ({m.get('fact_questions', 0)} val questions about a planted fact, "
        f"{m.get('fact_questions_with_memory', 0)} with the fact in their memory block)",
        "",
        f"  {'feature':<12}{'owner':>9}{'base':>9}{'tuned':>9}",
    ]
    for feat in FEATURES:
        lines.append(f"  {feat:<12}" + "".join(f"{prof[w][feat]:>9.3f}" for w in ("owner", "base", "tuned")))
    lines += ["", "  catchphrases: " + (", ".join(phrases) if phrases else "(none found)"),
              f"  wrote {out} and {samples}"]
    return "\n".join(lines)
