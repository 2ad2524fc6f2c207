"""base: the model the LoRA is trained on -> models/base.

`base.checkpoint_dir: tiny` builds a small litgpt model and BPE from the train split (seeded, offline);
a litgpt checkpoint path is validated and pointed to (models/base/base.json), never copied.
"""
import sys

from doppel import config, io
from doppel.base import prepare
from doppel.shell import script_main, stage_parser


def main(argv: list[str] | None = None) -> int:
    args = stage_parser("base", __doc__, input=("data/processed", "dataset folder with train.json (for tiny)"),
                        output=("models/base", "base checkpoint folder")).parse_args(argv)
    cfg = config.load("base", args.params)
    rows = io.read_rows(args.input / "train.json") if cfg.is_tiny else None
    info = prepare.run(cfg, rows, args.output)
    print(prepare.summary(info, args.output), file=sys.stderr)
    return 0


if __name__ == "__main__":
    script_main(main)
