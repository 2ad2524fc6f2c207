"""doppel.evaluation and stages/evaluate.py: metrics file, samples report, style and authorship pieces."""
from __future__ import annotations

import json
import runpy

import pytest
import yaml

from support import twin as F
from conftest import ROOT
from doppel.cli import main as doppel_main
from doppel.errors import InputError
from doppel.evaluation import rows, style
from doppel.evaluation.authorship import Authorship

REQUIRED = {"val_loss_base", "val_loss_tuned", "ppl_base", "ppl_tuned", "style_gap_closed", "authorship_ratio",
            "authorship_ratio_base", "train_rows"}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("evaluate")
    ck = F.make_checkpoint(root / "base")
    ad = F.make_adapter(ck, root / "adapter")
    train, val = F.write_dataset(root, n_train=80, n_val=15)
    params = root / "params.yaml"
    values = yaml.safe_load((ROOT / "params.yaml").read_text())
    values["evaluate"].update({"generate_rows": 12, "max_new_tokens": 16, "batch_size": 8, "samples": 3, "seed": 7,
                               "threads": 1})
    params.write_text(yaml.safe_dump(values, allow_unicode=True))
    return root, ck, ad, train, val, params


def run(setup, name: str, capsys) -> tuple[dict, str, str]:
    """(all figures, every file written, stderr); the headline metrics and plots are checked here."""
    root, ck, ad, train, val, params = setup
    out_dir = root / name
    metrics, details, samples, plots = (out_dir / "eval.json", out_dir / "evaluation.json", out_dir / "samples.md",
                                        out_dir / "plots")
    code = doppel_main(["evaluate", "--base", str(ck), "--adapter", str(ad), "--input", str(train.parent),
                        "--output", str(metrics), "--report", str(details), "--plots", str(plots),
                        "--samples", str(samples), "--params", str(params)])
    assert code == 0
    captured = capsys.readouterr()
    assert captured.out == ""  # the summary goes to stderr
    m = json.loads(details.read_text())
    head = json.loads(metrics.read_text())
    assert head["bpb"] == {"base": m["bpb_base"], "twin": m["bpb_tuned"]}
    assert (head["lift"], head["authorship"], head["style_gap_closed"], head["fluency"]) == (
        m["lift_tuned"], m["authorship_ratio"], m["style_gap_closed"], m["fluency"])
    assert m["train_rows"] == len(json.loads(train.read_text()))
    assert head["quiz_fooled"] == m["quiz_fooled"]
    assert set(head) == {"authorship", "bpb", "fluency", "lift", "quiz_fooled", "style_gap_closed"}
    written = [metrics, details, samples, *(plots / f for f in ("lengths.json", "features.json", "catchphrases.json"))]
    return m, "".join(p.read_text() for p in written), captured.err


def test_writes_metrics_and_samples_deterministically(setup, capsys):
    m, files, out = run(setup, "a", capsys)
    assert REQUIRED <= set(m)
    assert list(m) == sorted(m)
    assert m["generated_rows"] == 12 and m["val_rows"] > 12
    assert m["ppl_base"] == pytest.approx(2.718281828 ** m["val_loss_base"], rel=1e-3)
    assert not any(k.startswith(("style_owner", "style_base", "style_tuned")) for k in m)  # they are plots now
    features = json.loads((setup[0] / "a" / "plots" / "features.json").read_text())
    assert {r["feature"]: r["value"] for r in features}["Cyrillic share (owner)"] == 1.0
    assert len(features) == 3 * 7 and m["authorship_owner_share_real"] > 0.9
    lengths = json.loads((setup[0] / "a" / "plots" / "lengths.json").read_text())
    assert all(sum(r[who] for r in lengths) == pytest.approx(1.0, abs=1e-3) for who in ("owner", "base", "twin"))
    assert m["authorship_val_balanced_accuracy"] > 0.9
    samples = files.split("# Sample exchanges", 1)[1]
    assert samples.count("- **twin:**") == 3 and "- **real:**" in samples and "Them: " in samples
    assert "style gap closed" in out and "perplexity" in out and "context lift" in out and "fluency" in out
    _, again, _ = run(setup, "b", capsys)
    assert again == files


def test_the_classifier_plays_the_quiz_on_the_twins_replies(setup, capsys):
    """quiz_fooled: per generated row, the twin's reply against the real one; the classifier (as evaluate trains
    it) is fooled when the twin's scores higher, half when they tie; rows the quiz would not play are left out.
    An owner who writes half their replies like the others makes a classifier the random twin fools sometimes."""
    import random

    from doppel import config
    from doppel.evaluation import evaluate
    from doppel.evaluation.placeholders import PLACEHOLDER

    root, ck, ad, train, val, params = setup
    cfg = config.load("evaluate", params)
    rng = random.Random(5)
    train_rows = [{**r, "output": F.other_line(rng)} if i % 2 else r for i, r in enumerate(json.loads(train.read_text()))]
    result = evaluate.run(cfg, ck, ad, train_rows, json.loads(val.read_text()))
    owner, others = [r["output"] for r in train_rows], rows.other_lines(train_rows)
    cap = cfg.authorship_max_lines
    clf = Authorship(rows.capped(owner, cap, cfg.seed), rows.capped(others, cap, cfg.seed + 1))

    def fooled_rate(replies: list[str]) -> tuple[int, float]:
        played = [(r["output"].strip(), t.strip()) for r, t in zip(result.gen_rows, replies)
                  if t.strip() and t.strip() != r["output"].strip() and not PLACEHOLDER.search(r["output"])]
        fooled = sum(1.0 if clf.score(t) > clf.score(r) else 0.5 if clf.score(t) == clf.score(r) else 0.0
                     for r, t in played)
        return len(played), round(fooled / len(played), 4)

    assert fooled_rate(result.tuned) != fooled_rate(result.base)   # the figure tells the two models apart
    assert (result.metrics["quiz_rounds"], result.metrics["quiz_fooled"]) == fooled_rate(result.tuned)
    m, _, out = run(setup, "quiz", capsys)
    assert f"blind quiz  the classifier picked the twin's reply as real in {m['quiz_fooled']:.3f} of " \
           f"{m['quiz_rounds']} rounds" in out


def test_missing_adapter_is_an_input_error(setup, tmp_path, capsys):
    root, ck, _, train, val, params = setup
    argv = ["evaluate", "--base", str(ck), "--adapter", str(tmp_path / "none"), "--input", str(train.parent),
            "--output", str(tmp_path / "eval.json"), "--params", str(params)]
    assert doppel_main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("doppel evaluate: error:") and "dvc repro" in err[0]
    assert not (tmp_path / "eval.json").exists()
    stage = runpy.run_path(str(ROOT / "stages" / "evaluate.py"), run_name="test")
    with pytest.raises(InputError, match="dvc repro"):
        stage["main"](argv[1:])


def test_flags_override_params_and_are_validated(setup, tmp_path, capsys):
    root, ck, ad, train, val, params = setup
    base = ["evaluate", "--base", str(ck), "--adapter", str(ad), "--input", str(train.parent),
            "--output", str(tmp_path / "eval.json"), "--samples", str(tmp_path / "s.md"), "--params", str(params),
            "--report", str(tmp_path / "evaluation.json"), "--plots", str(tmp_path / "plots")]
    assert doppel_main([*base, "--generate-rows", "-1"]) == 2
    assert "evaluate.generate_rows" in capsys.readouterr().err
    assert doppel_main([*base, "--device", "gpu0"]) == 2
    assert "not a device" in capsys.readouterr().err
    assert doppel_main([*base, "--generate-rows", "2", "--precision", "32-true"]) == 0
    assert json.loads((tmp_path / "evaluation.json").read_text())["generated_rows"] == 2


def test_empty_val_split_is_an_input_error(setup, tmp_path, capsys):
    root, ck, ad, train, val, params = setup
    (tmp_path / "train.json").write_text(train.read_text())
    (tmp_path / "val.json").write_text("[]")
    assert doppel_main(["evaluate", "--base", str(ck), "--adapter", str(ad), "--input", str(tmp_path),
                        "--output", str(tmp_path / "eval.json"), "--params", str(params)]) == 2
    assert "val split is empty" in capsys.readouterr().err


def test_context_turns_and_other_lines():
    inst = F.render_context([(False, "Hi!"), (True, "привет\nкак ты"), (False, "Fine?")], F.SYSTEM)
    assert rows.context_turns(inst) == [("Them", "Hi!"), ("Me", "привет\nкак ты"), ("Them", "Fine?")]
    rows_ = [{"instruction": inst, "output": "x", "session": 3},
            {"instruction": inst + "\nMe: x\nThem: Bye", "output": "y", "session": 3}]
    assert rows.other_lines(rows_) == ["Hi!", "Fine?", "Bye"]


def test_catchphrases_are_the_owners_overrepresented_ngrams():
    owner = ["ну такое бро", "ахах ну такое", "да ладно бро", "ну такое", "ok fine"] * 4
    others = ["ok fine", "are you sure", "ok see you", "fine"] * 5
    found = style.catchphrases(owner, others, k=3, min_share=0.0)
    assert found[0] == "ну такое" and "бро" in found
    assert "ok" not in found and "fine" not in found


def test_style_features_and_gap():
    f = style.features("привет!! как дела... 😂", ["как дела"])
    assert f["lower_start"] == 1 and f["exclaim"] == 1 and f["ellipsis"] == 1 and f["question"] == 0
    assert f["emoji"] == 1 and f["cyrillic"] == 1 and f["catchphrase"] == 1 and f["words"] == 4
    owner = style.profile(["лол да", "ну лол"], ["лол"])
    far = style.profile(["Hello there!", "What?"], ["лол"])
    scale = style.spreads(["лол да", "Hello there!", "What?", "ну лол"], ["лол"])
    assert style.style_distance(owner, owner, scale) == 0
    assert style.style_distance(far, owner, scale) > 0


def test_authorship_classifier_separates_speakers():
    clf = Authorship([F.owner_line(r) for r in [__import__("random").Random(i) for i in range(200)]],
                        [F.other_line(r) for r in [__import__("random").Random(i) for i in range(200)]])
    assert clf.is_owner("короче щас кофе лол") and not clf.is_owner("What are you doing tonight?")
    assert not clf.is_owner("   ")


def test_losses_are_scored_on_the_val_rows(setup, capsys):
    """val_loss_base/val_loss_tuned are the token-mean loss of each model on evaluate.loss_rows val rows (picked
    with evaluate.seed), not on train rows: recomputed here with the twin itself."""
    from doppel import config
    from doppel.evaluation.report import DIGITS
    from doppel.model.load import load

    root, ck, ad, train, val, params = setup
    m, _, _ = run(setup, "val_loss", capsys)
    cfg = config.load("evaluate", params)
    val_rows = rows.pick_rows(json.loads(val.read_text()), cfg.loss_rows, cfg.seed)
    train_rows = rows.pick_rows(json.loads(train.read_text()), cfg.loss_rows, cfg.seed)
    for adapter, key in ((None, "val_loss_base"), (ad, "val_loss_tuned")):
        twin = load(ck, adapter, device="cpu")
        total, count = twin.loss_stats(val_rows, batch_size=cfg.batch_size)
        on_train = twin.loss_stats(train_rows, batch_size=cfg.batch_size)
        assert m[key] == round(total / count, DIGITS), key
        assert round(on_train[0] / on_train[1], DIGITS) != m[key]  # the test can tell the two apart


def test_per_byte_lift_and_fluency_are_qualitys_figures_on_the_val_rows(setup):
    """bpb_*, lift_* and fluency (doppel.evaluation.quality) recomputed here from each model's summed losses: on
    the val rows, the "other" context another session's (quality.shifted_contexts), fluency judged by the base
    on the twin's replies (the ones evaluate returns) and on the owner's real replies to the same rows."""
    from doppel import config
    from doppel.evaluation import evaluate, quality
    from doppel.evaluation.report import DIGITS
    from doppel.model.load import load

    root, ck, ad, train, val, params = setup
    cfg = config.load("evaluate", params)
    # build's rows carry `session` (doppel.build.ROW_KEYS); the shared fixture's rows only `session_id`
    val_all = [{**r, "session": r["session_id"]} for r in json.loads(val.read_text())]
    result = evaluate.run(cfg, ck, ad, json.loads(train.read_text()), val_all)
    m = result.metrics
    val_rows = rows.pick_rows(val_all, cfg.loss_rows, cfg.seed)
    shifted = quality.shifted_contexts(val_rows)
    assert len(shifted) == len(val_rows) and len({r["session"] for r in val_rows}) > 1

    def per_byte(twin, rows_):
        return quality.loss_per_byte(twin.loss_stats(rows_, batch_size=cfg.batch_size)[0], [r["output"] for r in rows_])

    for adapter, who in ((None, "base"), (ad, "tuned")):
        twin = load(ck, adapter, device="cpu")
        true_ctx, other_ctx = per_byte(twin, val_rows), per_byte(twin, shifted)
        assert m[f"bpb_{who}"] == round(true_ctx, DIGITS), who
        assert m[f"bpb_{who}_other_context"] == round(other_ctx, DIGITS), who
        assert m[f"lift_{who}"] == round(quality.context_lift(true_ctx, other_ctx), DIGITS), who
        assert m[f"lift_{who}"] != 0.0   # a lift measured with the true context as the "other" one would be 0
        if adapter is None:
            on_twin = per_byte(twin, [{**r, "output": t} for r, t in zip(result.gen_rows, result.tuned)])
            on_owner = per_byte(twin, result.gen_rows)
            assert (m["fluency_base_bpb_on_twin"], m["fluency_base_bpb_on_owner"]) == (
                round(on_twin, DIGITS), round(on_owner, DIGITS))
            assert m["fluency"] == round(quality.fluency(on_twin, on_owner), DIGITS)
            assert on_twin != on_owner


def fact_rows() -> list[dict]:
    """Three val rows asking planted facts: two with the fact in their memory block, one with another memory."""
    from doppel.memory import block
    from doppel.sample.facts import FACTS

    pet, city = (next(f for f in FACTS if f.key == k) for k in ("pet", "city"))
    out = []
    for fact, said in ((pet, pet.statements[0]), (city, city.statements[0]), (city, "i like rain")):
        memory = block.render([{"text": said, "answered": ""}], 96)
        ins = block.insert(f"{F.SYSTEM}\nThem: hey\nMe: hi\nThem: {fact.question}", memory, F.SYSTEM)
        out.append({"instruction": ins, "input": "", "output": said, "session": 900, "memory": memory})
    return out


def test_fact_recall_asks_the_base_and_the_twin_without_memory_and_the_twin_with_it(setup, monkeypatch, capsys):
    """The model's replies are the one fake here (each echoes its prompt): what each model was asked is then
    what it recalls. Only the twin with memory sees the blocks, so only it recalls (the two blocks with the fact)."""
    from doppel import config
    from doppel.evaluation import evaluate

    root, ck, ad, train, val, params = setup
    cfg = config.load("evaluate", params).model_copy(update={"generate_rows": 2})
    asked = fact_rows()
    seen: list[list[str]] = []

    def echo(tw, rows_, cfg_):
        seen.append([r["instruction"] for r in rows_])
        return [r["instruction"] for r in rows_]

    monkeypatch.setattr(evaluate, "generate", echo)
    result = evaluate.run(cfg, ck, ad, json.loads(train.read_text()), json.loads(val.read_text()) + asked)
    m = result.metrics
    assert (m["fact_questions"], m["fact_questions_with_memory"]) == (3, 2)
    assert (m["fact_recall_base"], m["fact_recall_twin"], m["fact_recall_twin_memory"]) == (0.0, 0.0, 0.6667)
    assert result.facts["twin_memory"]["per_fact"] == {"pet": [1, 1], "city": [1, 2]}
    with_block = [ins for batch in seen for ins in batch if "Things Me said before:" in ins]
    assert len(with_block) == 3 + sum("Things Me said before:" in r["instruction"] for r in result.gen_rows) * 2
    from doppel.evaluation.report import headline
    assert headline(m)["recall"] == 0.6667
    assert "recall" not in headline({**m, "fact_recall_twin_memory": None})   # no planted facts: no column


def test_fact_recall_on_a_val_split_without_facts_is_null(setup, capsys):
    m, files, out = run(setup, "nofacts", capsys)
    assert (m["fact_questions"], m["fact_recall_base"], m["fact_recall_twin"], m["fact_recall_twin_memory"]) == \
        (0, None, None, None)
    assert "fact recall base n/a   twin n/a   twin with memory n/a  (0 val questions" in out


def test_the_bases_loss_on_the_owners_replies_is_computed_once(setup, monkeypatch):
    """fluency's denominator reuses the per-row losses of the loss rows; only rows not among them are scored."""
    from doppel.evaluation import evaluate, quality
    from doppel.model.load import load

    root, ck, ad, train, val, params = setup
    rows_ = json.loads(val.read_text())
    tw = load(ck, None, device="cpu", precision="32-true")
    per_row = tw.row_losses(rows_, batch_size=4)
    total, count = tw.loss_stats(rows_, batch_size=3)
    assert total == pytest.approx(sum(n for n, _ in per_row), rel=1e-5) and count == sum(c for _, c in per_row)
    calls = []
    real = tw.row_losses
    monkeypatch.setattr(tw, "row_losses", lambda rs, batch_size: calls.append(len(rs)) or real(rs, batch_size))
    direct = quality.loss_per_byte(tw.loss_stats(rows_[:5], 4)[0], [r["output"] for r in rows_[:5]])
    calls.clear()
    assert evaluate.owner_bpb(tw, rows_[:5], rows_, per_row, 4) == pytest.approx(direct, rel=1e-5)
    assert calls == [0]                                         # every row already scored: none again
    assert evaluate.owner_bpb(tw, rows_[:5], rows_[2:], per_row[2:], 4) == pytest.approx(direct, rel=1e-5)
    assert calls == [0, 2]                                      # only the two rows the loss rows lack
