"""doppel.evaluation.report without a model: assemble's figures from given runs, the headline metrics, rounding,
the samples report and the printed summary, each checked value by value."""
from __future__ import annotations

import math

from doppel.evaluation import report
from doppel.evaluation.evaluate import ModelRun
from doppel.evaluation.style import FEATURES


class Judge:
    """An authorship classifier stand-in with a fixed answer per line (report only asks for shares)."""

    def __init__(self, owner_lines: set[str]):
        self.owner = owner_lines

    def owner_share(self, lines: list[str]) -> float:
        return sum(line in self.owner for line in lines) / len(lines) if lines else 0.0


ROWS = [{"instruction": "sys\nThem: hi\nMe: yo", "output": "лол ок", "session": 1},
        {"instruction": "sys\nThem: how\nare you", "output": "норм", "session": 2}]


def runs():
    base = ModelRun(2.0, math.exp(2.0), 10, ["Hello there.", "What?"], bpb=0.5, bpb_other=0.7,
                    judged={"twin": 0.9, "owner": 0.6})
    tuned = ModelRun(1.5, math.exp(1.5), 10, ["лол ок", "норм"], bpb=0.4, bpb_other=0.65)
    return base, tuned


def test_assemble_value_by_value():
    base, tuned = runs()
    clf = Judge({"лол ок", "норм", "лол"})
    m, prof = report.assemble(base, tuned, 7, ROWS, ROWS, ["лол"], clf, {f: 1.0 for f in FEATURES})
    assert (m["val_loss_base"], m["val_loss_tuned"], m["ppl_base"], m["ppl_tuned"]) == (
        2.0, 1.5, round(math.exp(2.0), 4), round(math.exp(1.5), 4))
    assert (m["val_rows"], m["val_target_tokens"], m["generated_rows"], m["catchphrases_found"]) == (7, 10, 2, 1)
    assert (m["authorship_owner_share_real"], m["authorship_owner_share_base"],
            m["authorship_owner_share_tuned"]) == (1.0, 0.0, 1.0)
    assert (m["authorship_ratio"], m["authorship_ratio_base"]) == (1.0, 0.0)
    # val balanced accuracy: half the owner's replies taken as the owner's, half the others' lines as not
    assert m["authorship_val_balanced_accuracy"] == 1.0
    assert (m["bpb_base"], m["bpb_tuned"], m["bpb_base_other_context"], m["bpb_tuned_other_context"]) == (
        0.5, 0.4, 0.7, 0.65)
    assert (m["lift_base"], m["lift_tuned"]) == (0.2, 0.25)
    assert (m["fluency_base_bpb_on_twin"], m["fluency_base_bpb_on_owner"], m["fluency"]) == (0.9, 0.6, 1.5)
    assert set(prof) == {"owner", "base", "tuned"} and prof["owner"] == prof["tuned"]
    assert m["style_distance_tuned"] == 0.0 and m["style_distance_base"] > 0 and m["style_gap_closed"] == 1.0


def test_assemble_edges():
    base, tuned = runs()
    base.judged = {}
    same = ModelRun(1.0, math.e, 3, list(base.replies), bpb=0.5, bpb_other=0.5)
    m, _ = report.assemble(base, same, 1, ROWS, ROWS[:1], [], Judge(set()), {f: 1.0 for f in FEATURES})
    assert m["authorship_ratio"] == 0.0 and m["authorship_ratio_base"] == 0.0  # no real reply taken as the owner's
    assert m["fluency"] is None and m["fluency_base_bpb_on_twin"] is None  # nan: not judged
    assert m["style_gap_closed"] == 0.0 and m["lift_tuned"] == 0.0
    # val rows whose contexts hold no other person's line: the accuracy is the owner share alone
    m, _ = report.assemble(base, same, 1, ROWS, [{"instruction": "sys", "output": "x"}], [], Judge({"x"}),
                           {f: 1.0 for f in FEATURES})
    assert m["authorship_val_balanced_accuracy"] == 1.0
    m, _ = report.assemble(base, same, 1, ROWS, ROWS, [], Judge({"лол ок", "hi"}), {f: 1.0 for f in FEATURES})
    assert m["authorship_val_balanced_accuracy"] == 0.5 * 0.5 + 0.5 * (1 - 1 / 2)


def test_headline_and_rounding():
    details = {"authorship_ratio": 0.8, "bpb_base": 1.1, "bpb_tuned": 0.9, "fluency": 1.2, "lift_tuned": 0.1,
               "quiz_fooled": 0.4, "style_gap_closed": 0.3, "val_loss_base": 5.0}
    assert report.headline(details) == {"authorship": 0.8, "bpb": {"base": 1.1, "twin": 0.9}, "fluency": 1.2,
                                        "lift": 0.1, "quiz_fooled": 0.4, "style_gap_closed": 0.3}
    assert report.headline({"bpb_tuned": 2.0}) == {"bpb": {"twin": 2.0}}
    # fact recall with memory only where some val row asks a planted fact (null: left out)
    assert report.headline({"fact_recall_twin_memory": 0.5}) == {"recall": 0.5}
    assert report.headline({"fact_recall_twin_memory": None, "fluency": None}) == {"fluency": None}
    assert report.headline({}) == {}
    assert report.rounded({"a": 0.123456, "b": math.nan, "c": math.inf, "d": 3, "e": "x", "f": 0.00005}) == {
        "a": 0.1235, "b": None, "c": None, "d": 3, "e": None, "f": 0.0001}
    assert report.DIGITS == 4


def test_samples_report(tmp_path):
    path = tmp_path / "deep" / "samples.md"
    rows = ROWS + [{"instruction": "s\nThem: a\nMe: b\nThem: c\nMe: d\nThem: e", "output": " x \n y "}]
    report.write_samples(path, rows, ["B1", "B2\nmore", "B3"], ["T1", "", "T3"], ["лол", "ну"], 2)
    assert path.read_text(encoding="utf-8") == "\n".join([
        "# Sample exchanges (val split)", "",
        "The context's last turns, then the owner's real reply, the base model's and the twin's (generated by "
        "`doppel evaluate`, seeded).", "",
        "Owner catchphrases (most over-represented n-grams in the training replies): `лол`, `ну`", "",
        "## 1. session 1", "", "```text", "Them: hi", "Me: yo", "```", "",
        "- **real:** лол ок", "- **base:** B1", "- **twin:** T1", "",
        "## 2. session 2", "", "```text", "Them: how / are you", "```", "",
        "- **real:** норм", "- **base:** B2 / more", "- **twin:** (empty)", ""])
    report.write_samples(path, rows[2:], ["b"], ["t"], [], 5)
    text = path.read_text(encoding="utf-8")
    assert "training replies): (none found)" in text and "## 1. session ?" in text
    assert "```text\nMe: b\nThem: c\nMe: d\nThem: e\n```" in text  # the last 4 turns only
    assert "- **real:** x / y" in text
    assert report.one_line("  a \n  b  \n") == "a / b" and report.one_line(" \n ") == "(empty)"


def test_summary_lines():
    m = {"val_rows": 3, "val_target_tokens": 40, "generated_rows": 2, "val_loss_base": 2.0, "val_loss_tuned": None,
         "ppl_base": 7.389, "ppl_tuned": 4.4817, "bpb_base": 0.5, "bpb_tuned": 0.4, "lift_base": 0.2,
         "lift_tuned": 0.25, "fluency": 1.5, "style_gap_closed": 0.75, "style_distance_base": 2.0,
         "style_distance_tuned": 0.5, "authorship_ratio": 0.9, "authorship_ratio_base": 0.1,
         "authorship_val_balanced_accuracy": 0.8, "quiz_fooled": 0.5, "quiz_rounds": 2}
    prof = {w: {f: i + 0.5 for i, f in enumerate(FEATURES)} for w in ("owner", "base", "tuned")}
    text = report.summary(m, prof, ["лол"], 12.34, {"load": 1.0, "loss": 2.25}, "out.json", "s.md")
    lines = text.split("\n")
    assert lines[:12] == [
        "evaluate: 3 val rows (40 reply tokens), 2 generated, 12.3 s (load 1.0, loss 2.2)",
        "  loss        base 2.000   tuned n/a",
        "  perplexity  base 7.39   tuned 4.48",
        "  per byte    base 0.500   tuned 0.400  (nats per byte of the owner's replies)",
        "  context lift base 0.200   tuned 0.250  (per byte, another session's context minus the true one)",
        "  fluency     1.500  (the base's loss per byte on the twin's replies / on the owner's)",
        "  style gap closed 0.750  (distance to the owner: base 2.000, tuned 0.500)",
        "  authorship  tuned 0.900   base 0.100  (classifier val balanced accuracy 0.800)",
        "  blind quiz  the classifier picked the twin's reply as real in 0.500 of 2 rounds (0.5: it cannot tell "
        "them apart)",
        "  fact recall base n/a   twin n/a   twin with memory n/a  (0 val questions about a planted fact, 0 with "
        "the fact in their memory block)",
        "",
        "  feature         owner     base    tuned"]
    assert lines[12] == "  chars           0.500    0.500    0.500"
    assert len(lines) == 12 + len(FEATURES) + 3
    assert lines[-2:] == ["  catchphrases: лол", "  wrote out.json and s.md"]
    del m["quiz_fooled"], m["quiz_rounds"]
    text = report.summary(m, prof, [], 1.0, {}, "o", "s")
    assert "real in n/a of 0 rounds" in text and "  catchphrases: (none found)" in text
    assert text.startswith("evaluate: 3 val rows (40 reply tokens), 2 generated, 1.0 s ()")


def test_placeholder_share_rounds_to_four_places():
    from doppel.evaluation.placeholders import share, shares

    assert share(["<NAME>", "a", "b"]) == 0.3333 and share(["a", "трёхNAME", "<EMAIL>"]) == 0.6667
    assert shares(["hi"], ["<NAME>", "x"]) == {"placeholder_share_base": 0.0, "placeholder_share_tuned": 0.5}
