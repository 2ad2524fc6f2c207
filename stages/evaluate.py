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
from doppel.stage import script_main, stage_parser
from doppel.errors import InputError
from doppel.evaluation.plots import write_style_plots
from doppel.evaluation.report import headline, summary, write_samples
from doppel.evaluation.run import evaluate
from doppel.model.checkpoint import HINT, resolve_checkpoint, validate_adapter, validate_checkpoint


def parse_args(argv: list[str] | None):
    ap = stage_parser("evaluate", __doc__, input=("data/processed", "dataset folder with train.json and val.json"),
                      output=("metrics/eval.json", "headline metrics, the ones DVC compares"),
                      report="reports/evaluation.json")
    ap.add_argument("--base", type=Path,
                    help="base checkpoint dir (default: the base stage's, from base.checkpoint_dir)")
    ap.add_argument("--adapter", help="LoRA adapter dir (default: evaluate.adapter)")
    ap.add_argument("--samples", type=Path, default=Path("reports/samples.md"),
                    help="sample exchanges, markdown (default: reports/samples.md)")
    ap.add_argument("--plots", type=Path, default=Path("plots/style"),
                    help="style plots' data: lengths.json, features.json, catchphrases.json (default: plots/style)")
    ap.add_argument("--generate-rows", type=int,
                    help="val rows to generate replies for (default: evaluate.generate_rows)")
    ap.add_argument("--device", help="auto, cpu, cuda, cuda:1 ... (default: evaluate.device)")
    ap.add_argument("--precision", help="32-true, bf16-true, 16-true (default: evaluate.precision; null: bf16 on GPU, "
                                        "32-true on CPU)")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    flags = {"adapter": args.adapter, "generate_rows": args.generate_rows, "device": args.device,
             "precision": args.precision}
    cfg = config.load("evaluate", args.params, overrides={k: v for k, v in flags.items() if v is not None})
    base = args.base or resolve_checkpoint(config.load("base", args.params))
    started = time.perf_counter()
    base = validate_checkpoint(base.expanduser().resolve(), "base checkpoint", hint=HINT)
    adapter = validate_adapter(cfg.adapter)
    train, val = io.read_rows(args.input / "train.json"), io.read_rows(args.input / "val.json")
    if not val:
        raise InputError(args.input / "val.json", "the val split is empty: nothing to evaluate")
    result = evaluate(base, adapter, train, val, cfg)
    details = {**result.metrics, "train_rows": len(train)}
    io.write_json(args.report, details)
    io.write_json(args.output, headline(details))
    write_style_plots(args.plots, [r["output"] for r in result.gen_rows], result.base, result.tuned, result.profiles,
                      result.phrases)
    write_samples(args.samples, result.gen_rows, result.base, result.tuned, result.phrases, cfg.samples)
    print(summary(details, result.profiles, result.phrases, time.perf_counter() - started, result.timings,
                  f"{args.output}, {args.report}, {args.plots}/", args.samples), file=sys.stderr)
    return 0


if __name__ == "__main__":
    script_main(main)
