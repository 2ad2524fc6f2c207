"""evaluate: the base model vs the tuned twin on the val split -> metrics/eval.json (the headline figures),
reports/evaluation.json (all of them), plots/style/ (style plots) and reports/samples.md.

Loss/perplexity on the owner's replies; replies generated for a seeded sample of val rows (the same seeds for
both models), compared with the owner's real replies on style features and by a char n-gram authorship
classifier trained on the train split.
"""
import sys
import time
from pathlib import Path

from doppel import config, io
from doppel.errors import InputError
from doppel.evaluation import evaluate
from doppel.evaluation.plots import write_style_plots
from doppel.evaluation.report import headline, write_samples
from doppel.model.checkpoint import find_base, validate_adapter
from doppel.shell import add_twin_flags, script_main, stage_parser, twin_flags


def parse_args(argv: list[str] | None):
    ap = stage_parser("evaluate", __doc__, input=("data/processed", "dataset folder with train.json and val.json"),
                      output=("metrics/eval.json", "headline metrics, the ones DVC compares"),
                      report="reports/evaluation.json")
    add_twin_flags(ap, "evaluate", no_adapter=False)
    ap.add_argument("--samples", type=Path, default=Path("reports/samples.md"),
                    help="sample exchanges, markdown (default: reports/samples.md)")
    ap.add_argument("--plots", type=Path, default=Path("plots/style"),
                    help="style plots' data: lengths.json, features.json, catchphrases.json (default: plots/style)")
    ap.add_argument("--generate-rows", type=int,
                    help="val rows to generate replies for (default: evaluate.generate_rows)")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    flags = {"generate_rows": args.generate_rows} if args.generate_rows is not None else {}
    cfg = config.load("evaluate", args.params, overrides={**flags, **twin_flags(args)})
    started = time.perf_counter()
    base = find_base(args.params, args.base)
    adapter = validate_adapter(cfg.adapter)
    train, val = io.read_rows(args.input / "train.json"), io.read_rows(args.input / "val.json")
    if not val:
        raise InputError(args.input / "val.json", "the val split is empty: nothing to evaluate")
    result = evaluate.run(cfg, base, adapter, train, val)
    details = {**result.metrics, "train_rows": len(train)}
    io.write_json(args.report, details)
    io.write_json(args.output, headline(details))
    write_style_plots(args.plots, [r["output"] for r in result.gen_rows], result.base, result.tuned, result.profiles,
                      result.phrases)
    write_samples(args.samples, result.gen_rows, result.base, result.tuned, result.phrases, cfg.samples)
    print(evaluate.summary(details, result.profiles, result.phrases, time.perf_counter() - started, result.timings,
                  f"{args.output}, {args.report}, {args.plots}/", args.samples), file=sys.stderr)
    return 0


if __name__ == "__main__":
    script_main(main)
