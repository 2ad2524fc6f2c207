"""`doppel evaluate`: the base model vs the tuned twin on the val split.

- loss / perplexity on the owner's replies (prompt masked, as in training);
- replies generated for a seeded sample of val rows (same seeds for base and twin), compared with the
  owner's real replies on style features; `style_gap_closed` = 1 - d(twin, owner) / d(base, owner), with
  d the mean over features of |mean difference| / the feature's spread in the training lines;
- authorship: a char n-gram naive Bayes trained on the train split (the owner's replies vs the other
  people's lines); `authorship_ratio` = share of twin replies it attributes to the owner / the same share
  for the owner's own val replies (1 = as convincing as the owner).

Writes metrics/eval.json (flat, rounded, sorted keys) and reports/samples.md; prints a summary.
"""
from __future__ import annotations

import argparse
import json
import math
import random
import re
import sys
import time
from collections import Counter
from pathlib import Path

from doppel import params as params_mod
from doppel.errors import InputError
from doppel.prompt import OTHER_LABEL, OWNER_LABEL

DEFAULTS = {
    "adapter": "models/adapter",
    "train": "data/processed/train.json",
    "val": "data/processed/val.json",
    "metrics": "metrics/eval.json",
    "samples_file": "reports/samples.md",
    "loss_rows": 0,            # val rows for loss/perplexity; 0 = all
    "generate_rows": 64,       # val rows the models reply to
    "max_new_tokens": 48,
    "temperature": 0.7,
    "top_k": 50,
    "top_p": 0.95,
    "seed": 1234,
    "batch_size": 16,
    "catchphrases": 10,        # how many of the owner's over-represented n-grams to track
    "catchphrase_min_share": 0.005,  # ... each in at least this share of the owner's replies (and >= 3)
    "authorship_max_lines": 20000,   # per class, for the classifier's training
    "samples": 8,              # exchanges written to the samples report
    "device": "auto",
    "precision": None,
    "threads": 0,              # torch CPU threads; 0 = torch's default (one per core)
}
DIGITS = 4
TIMINGS = {"load": 0.0, "loss": 0.0, "generate": 0.0}  # seconds, both models (printed, never written)

# ------------------------------------------------------------------------------------------- reading data


def read_rows(path: str | Path) -> list[dict]:
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "dataset not found; run `dvc repro` or `dvc pull` first")
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise InputError(path, f"not valid JSON ({err})") from err
    if not isinstance(rows, list) or not all(isinstance(r, dict) and "instruction" in r and "output" in r for r in rows):
        raise InputError(path, "expected a JSON list of rows with `instruction` and `output`")
    return rows


def context_turns(instruction: str) -> list[tuple[str, str]]:
    """(label, text) turns of a rendered context; unlabelled lines continue the previous turn (the system
    line, before any label, is dropped)."""
    turns: list[list[str]] = []
    prefixes = {f"{OWNER_LABEL}: ": OWNER_LABEL, f"{OTHER_LABEL}: ": OTHER_LABEL}
    for line in instruction.split("\n"):
        for prefix, who in prefixes.items():
            if line.startswith(prefix):
                turns.append([who, line[len(prefix):]])
                break
        else:
            if turns:
                turns[-1][1] += "\n" + line
    return [(who, text) for who, text in turns]


def other_lines(rows: list[dict]) -> list[str]:
    """The other people's turns in the contexts, once per session (contexts of one session overlap)."""
    seen: set[tuple] = set()
    out: list[str] = []
    for r in rows:
        session = r.get("session")
        for who, text in context_turns(r["instruction"]):
            key = (session, text) if session is not None else (r["instruction"], text)
            if who == OTHER_LABEL and text.strip() and key not in seen:
                seen.add(key)
                out.append(text)
    return out


def capped(lines: list[str], n: int, seed: int) -> list[str]:
    if n and len(lines) > n:
        idx = sorted(random.Random(seed).sample(range(len(lines)), n))
        return [lines[i] for i in idx]
    return lines


# ----------------------------------------------------------------------------------------------- style

EMOJI_RE = re.compile(
    "[\U0001F000-\U0001FAFF\U00002600-\U000027BF\U0001F1E6-\U0001F1FF\U00002B00-\U00002BFF\U00003030\U0000303D]")
CYRILLIC_RE = re.compile("[\u0400-\u04FF]")
TOKEN_RE = re.compile(r"\w+|[^\w\s]+")


def ngrams(text: str, max_n: int = 3) -> set[str]:
    toks = TOKEN_RE.findall(text.lower())
    return {" ".join(toks[i:i + n]) for n in range(1, max_n + 1) for i in range(len(toks) - n + 1)}


def catchphrases(owner: list[str], others: list[str], k: int, min_share: float) -> list[str]:
    """The owner's most over-represented word/punctuation n-grams (1-3) vs the other people, by smoothed
    log ratio of the share of lines containing them; nested n-grams of one already picked are skipped."""
    if not owner or not others or k <= 0:
        return []
    df_o, df_t = Counter(), Counter()
    for line in owner:
        df_o.update(ngrams(line))
    for line in others:
        df_t.update(ngrams(line))
    n_o, n_t = len(owner), len(others)
    floor = max(3, math.ceil(min_share * n_o))
    scored = []
    for g, c in df_o.items():
        if c < floor:
            continue
        score = math.log((c + 1) / (n_o + 2)) - math.log((df_t[g] + 1) / (n_t + 2))
        if score > 0:
            scored.append((-round(score, 9), -c, -g.count(" "), g))  # ties: the longer phrase first
    picked: list[str] = []
    for *_, g in sorted(scored):
        padded = f" {g} "
        if any(f" {p} " in padded or padded in f" {p} " for p in picked):
            continue
        picked.append(g)
        if len(picked) == k:
            break
    return picked


FEATURES = ("chars", "words", "emoji", "lower_start", "exclaim", "question", "ellipsis", "cyrillic", "catchphrase")


def features(text: str, phrases: list[str]) -> dict[str, float | None]:
    letters = [c for c in text if c.isalpha()]
    first = letters[0] if letters else ""
    phrase_set = set(phrases)
    return {
        "chars": float(len(text)),
        "words": float(len(text.split())),
        "emoji": float(len(EMOJI_RE.findall(text))),
        "lower_start": float(first.islower()) if first else None,
        "exclaim": float("!" in text),
        "question": float("?" in text),
        "ellipsis": float("..." in text or "\u2026" in text),
        "cyrillic": (sum(1 for c in letters if CYRILLIC_RE.match(c)) / len(letters)) if letters else None,
        "catchphrase": float(bool(phrase_set & ngrams(text))) if phrase_set else 0.0,
    }


def profile(texts: list[str], phrases: list[str]) -> dict[str, float]:
    """Mean of each feature over the texts (a feature with no value in any text -> 0)."""
    rows = [features(t, phrases) for t in texts]
    out = {}
    for f in FEATURES:
        vals = [r[f] for r in rows if r[f] is not None]
        out[f] = sum(vals) / len(vals) if vals else 0.0
    return out


def spreads(texts: list[str], phrases: list[str]) -> dict[str, float]:
    """Each feature's standard deviation over the training lines (both speakers): the distance's units."""
    rows = [features(t, phrases) for t in texts]
    out = {}
    for f in FEATURES:
        vals = [r[f] for r in rows if r[f] is not None]
        if len(vals) < 2:
            out[f] = 0.0
            continue
        mean = sum(vals) / len(vals)
        out[f] = math.sqrt(sum((v - mean) ** 2 for v in vals) / (len(vals) - 1))
    return out


def style_distance(a: dict[str, float], b: dict[str, float], scale: dict[str, float]) -> float:
    used = [f for f in FEATURES if scale.get(f, 0.0) > 1e-9]
    if not used:
        return 0.0
    return sum(abs(a[f] - b[f]) / scale[f] for f in used) / len(used)


# ------------------------------------------------------------------------------------------ authorship

class Authorship:
    """Multinomial naive Bayes on char 1-3-grams (case kept), owner vs others, equal priors."""

    N = (1, 2, 3)

    def __init__(self, owner: list[str], others: list[str], alpha: float = 1.0):
        c_o, c_t = Counter(), Counter()
        for line in owner:
            c_o.update(self.grams(line))
        for line in others:
            c_t.update(self.grams(line))
        vocab = set(c_o) | set(c_t)
        v = len(vocab) or 1
        tot_o, tot_t = sum(c_o.values()), sum(c_t.values())
        self.weights = {
            g: math.log((c_o[g] + alpha) / (tot_o + alpha * v)) - math.log((c_t[g] + alpha) / (tot_t + alpha * v))
            for g in vocab
        }

    @classmethod
    def grams(cls, text: str) -> list[str]:
        padded = f" {text.strip()} "
        return [padded[i:i + n] for n in cls.N for i in range(len(padded) - n + 1)]

    def score(self, text: str) -> float:
        w = self.weights
        return sum(w.get(g, 0.0) for g in self.grams(text))

    def is_owner(self, text: str) -> bool:
        return bool(text.strip()) and self.score(text) > 0

    def owner_share(self, texts: list[str]) -> float:
        return sum(self.is_owner(t) for t in texts) / len(texts) if texts else 0.0


# ------------------------------------------------------------------------------------------------ main

def pick_rows(rows: list[dict], n: int, seed: int) -> list[dict]:
    if n <= 0 or n >= len(rows):
        return list(rows)
    return [rows[i] for i in sorted(random.Random(seed).sample(range(len(rows)), n))]


def run_model(checkpoint, adapter, loss_rows, gen_rows, cfg) -> tuple[float, float, int, list[str]]:
    """(mean loss, perplexity, target tokens, generated replies) for one model."""
    from doppel import twin as twin_mod

    t0 = time.perf_counter()
    tw = twin_mod.load(checkpoint, adapter, device=cfg["device"], precision=cfg["precision"])
    t1 = time.perf_counter()
    total, count = tw.loss_stats(loss_rows, batch_size=int(cfg["batch_size"]))
    t2 = time.perf_counter()
    loss = total / count if count else math.nan
    replies: list[str] = []
    bs = max(1, int(cfg["batch_size"]))
    for b, start in enumerate(range(0, len(gen_rows), bs)):
        chunk = gen_rows[start:start + bs]
        replies += tw.generate_batch(
            [tw.prompt_for(r["instruction"]) for r in chunk], max_new_tokens=int(cfg["max_new_tokens"]),
            temperature=float(cfg["temperature"]), top_k=cfg["top_k"], top_p=float(cfg["top_p"]),
            seed=int(cfg["seed"]) + b)
    del tw
    TIMINGS["load"] += t1 - t0
    TIMINGS["loss"] += t2 - t1
    TIMINGS["generate"] += time.perf_counter() - t2
    return loss, (math.exp(loss) if loss < 700 else math.inf), count, replies


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
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="doppel evaluate", description="Base vs tuned on the val split: loss, style, authorship.")
    p.add_argument("--checkpoint", help="base litgpt checkpoint dir (default: the base stage's)")
    p.add_argument("--adapter", help="LoRA adapter dir (default: params evaluate.adapter)")
    p.add_argument("--train", help="train split JSON")
    p.add_argument("--val", help="val split JSON")
    p.add_argument("--metrics", help="metrics JSON to write")
    p.add_argument("--samples", dest="samples_file", help="samples markdown to write")
    p.add_argument("--generate-rows", type=int, help="val rows to generate replies for")
    p.add_argument("--device", help="auto, cpu, cuda, cuda:1 ...")
    p.add_argument("--precision", help="32-true, bf16-true, 16-true (default: bf16 on GPU, 32 on CPU)")
    p.add_argument("--params", default=str(params_mod.PARAMS_FILE), help="params file (section `evaluate`)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    cfg = {**DEFAULTS, **params_mod.load("evaluate", args.params)}
    threads = int(cfg["threads"] or 0)
    if threads <= 0:
        return evaluate(args, cfg)
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return evaluate(args, cfg)
    finally:
        torch.set_num_threads(before)


def evaluate(args: argparse.Namespace, cfg: dict) -> int:
    for key in ("adapter", "train", "val", "metrics", "samples_file", "generate_rows", "device", "precision"):
        if getattr(args, key, None) is not None:
            cfg[key] = getattr(args, key)
    started = time.perf_counter()
    TIMINGS.update(load=0.0, loss=0.0, generate=0.0)

    from doppel import twin as twin_mod

    checkpoint = twin_mod.check_checkpoint(twin_mod.base_checkpoint(args.checkpoint, args.params))
    adapter = twin_mod.check_adapter(cfg["adapter"])
    train, val = read_rows(cfg["train"]), read_rows(cfg["val"])
    if not val:
        raise InputError(cfg["val"], "the val split is empty: nothing to evaluate")
    seed = int(cfg["seed"])

    owner_train = [r["output"] for r in train]
    others_train = other_lines(train)
    phrases = catchphrases(owner_train, others_train, int(cfg["catchphrases"]), float(cfg["catchphrase_min_share"]))
    cap = int(cfg["authorship_max_lines"])
    clf = Authorship(capped(owner_train, cap, seed), capped(others_train, cap, seed + 1))
    scale = spreads(owner_train + others_train, phrases)

    loss_rows = pick_rows(val, int(cfg["loss_rows"]), seed)
    gen_rows = pick_rows(val, int(cfg["generate_rows"]), seed)
    loss_b, ppl_b, n_tok, base_replies = run_model(checkpoint, None, loss_rows, gen_rows, cfg)
    loss_t, ppl_t, _, tuned_replies = run_model(checkpoint, adapter, loss_rows, gen_rows, cfg)

    real = [r["output"] for r in gen_rows]
    prof = {"owner": profile(real, phrases), "base": profile(base_replies, phrases),
            "tuned": profile(tuned_replies, phrases)}
    d_base = style_distance(prof["base"], prof["owner"], scale)
    d_tuned = style_distance(prof["tuned"], prof["owner"], scale)
    gap_closed = 1.0 - d_tuned / d_base if d_base > 1e-12 else 0.0

    share_real = clf.owner_share(real)
    share_base, share_tuned = clf.owner_share(base_replies), clf.owner_share(tuned_replies)
    val_others = other_lines(val)
    acc = 0.5 * clf.owner_share([r["output"] for r in val]) + 0.5 * (1 - clf.owner_share(val_others)) \
        if val_others else clf.owner_share([r["output"] for r in val])

    metrics: dict[str, float | int] = {
        "val_loss_base": loss_b, "val_loss_tuned": loss_t, "ppl_base": ppl_b, "ppl_tuned": ppl_t,
        "val_rows": len(loss_rows), "val_target_tokens": n_tok, "generated_rows": len(gen_rows),
        "style_gap_closed": gap_closed, "style_distance_base": d_base, "style_distance_tuned": d_tuned,
        "authorship_ratio": share_tuned / share_real if share_real else 0.0,
        "authorship_ratio_base": share_base / share_real if share_real else 0.0,
        "authorship_owner_share_real": share_real, "authorship_owner_share_base": share_base,
        "authorship_owner_share_tuned": share_tuned, "authorship_val_balanced_accuracy": acc,
        "catchphrases_found": len(phrases),
    }
    for who, feats in prof.items():
        for f, v in feats.items():
            metrics[f"style_{who}_{f}"] = v
    clean = {k: (round(v, DIGITS) if isinstance(v, float) and math.isfinite(v) else (v if isinstance(v, int) else None))
             for k, v in metrics.items()}

    out = Path(cfg["metrics"])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(clean, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    write_samples(Path(cfg["samples_file"]), gen_rows, base_replies, tuned_replies, phrases, int(cfg["samples"]))
    print(summary(clean, prof, phrases, time.perf_counter() - started, out, Path(cfg["samples_file"])))
    return 0


def summary(m: dict, prof: dict, phrases: list[str], seconds: float, out: Path, samples: Path) -> str:
    def f(v, spec=".3f"):
        return "n/a" if v is None else format(v, spec)

    lines = [
        f"evaluate: {m['val_rows']} val rows ({m['val_target_tokens']} reply tokens), "
        f"{m['generated_rows']} generated, {seconds:.1f} s ("
        + ", ".join(f"{k} {v:.1f}" for k, v in TIMINGS.items()) + ")",
        f"  loss        base {f(m['val_loss_base'])}   tuned {f(m['val_loss_tuned'])}",
        f"  perplexity  base {f(m['ppl_base'], '.2f')}   tuned {f(m['ppl_tuned'], '.2f')}",
        f"  style gap closed {f(m['style_gap_closed'])}  (distance to the owner: base "
        f"{f(m['style_distance_base'])}, tuned {f(m['style_distance_tuned'])})",
        f"  authorship  tuned {f(m['authorship_ratio'])}   base {f(m['authorship_ratio_base'])}  "
        f"(classifier val balanced accuracy {f(m['authorship_val_balanced_accuracy'])})",
        "",
        f"  {'feature':<12}{'owner':>9}{'base':>9}{'tuned':>9}",
    ]
    for feat in FEATURES:
        lines.append(f"  {feat:<12}" + "".join(f"{prof[w][feat]:>9.3f}" for w in ("owner", "base", "tuned")))
    lines += ["", "  catchphrases: " + (", ".join(phrases) if phrases else "(none found)"),
              f"  wrote {out} and {samples}"]
    return "\n".join(lines)


if __name__ == "__main__":
    from doppel.cli import module_main

    module_main("evaluate")
