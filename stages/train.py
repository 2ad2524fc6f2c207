"""train: LoRA fine-tuning of the base on the dataset -> models/adapter (LoRA weights + configs only).

Resumes after a crash from models/train_state (not a DVC output: a checkout, a revert or a pulled clone never
retrains an adapter DVC already has); logs loss and val_loss to dvclive/ (DVC plots), tokens/s and MFU to
reports/train_speed/ (git-ignored: hardware figures, not results). The knobs are params.yaml's `train` section.
"""
import sys
from pathlib import Path

from doppel import config, io
from doppel.model.checkpoint import find_base
from doppel.shell import script_main, stage_parser
from doppel.training import loop


def parser():
    ap = stage_parser("train", __doc__, input=("data/processed", "dataset folder with train.json and val.json"),
                      output=("models/adapter", "adapter folder"))
    ap.add_argument("--base", type=Path, default=None,
                    help="base checkpoint folder (default: from params.yaml's base.checkpoint_dir)")
    ap.add_argument("--state", type=Path, default=Path("models/train_state"),
                    help="resume checkpoint folder, outside the DVC outputs (default: models/train_state)")
    ap.add_argument("--live", type=Path, default=Path("dvclive"),
                    help="dvclive folder for loss, val_loss and lr (default: dvclive)")
    ap.add_argument("--speed", type=Path, default=Path("reports/train_speed"),
                    help="dvclive folder for tokens/s and MFU, a git-ignored report (default: reports/train_speed)")
    return ap


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    cfg = config.load("train", args.params)
    base = find_base(args.params, args.base)
    train_file, val_file = args.input / "train.json", args.input / "val.json"
    train_rows = io.read_rows(train_file)
    val_rows = io.read_rows(val_file) if val_file.is_file() else []
    dirs = loop.Dirs(args.output, args.state, args.live, args.speed)
    result = loop.run(cfg, base, train_file, train_rows, val_rows, dirs)
    if result is not None:  # None on the other ranks of a multi-device run
        print(loop.summary(result, args.output), file=sys.stderr)
    return 0


if __name__ == "__main__":
    script_main(main)
