"""check: every section of params.yaml validated before any other stage runs -> reports/params.json.

Every stage depends on this one, so `dvc repro` stops here on a bad value (one line naming the file and the key)
before DVC removes any stage's outputs: a refused value never costs a trained adapter. `make repro` runs it
first (`doppel check`), so the command exits 2. The report is the same for every valid file: a change that
passes reruns nothing else.
"""
import sys

from doppel import config, io
from doppel.shell import script_main, stage_parser


def main(argv: list[str] | None = None) -> int:
    args = stage_parser("check", __doc__, output=("reports/params.json", "the record that the params file passed "
                                                                           "(the same for every valid file)")).parse_args(argv)
    report = config.check(args.params)
    quantize = config.load("train", args.params).quantize
    if quantize:  # what this machine must have (CUDA, bitsandbytes): refused here, not after DVC removed the adapter
        from doppel.training.hardware import check_quantize

        check_quantize(quantize, args.params)
    io.write_json(args.output, report)
    print(f"check: {args.params}: {len(config.SECTIONS)} sections valid", file=sys.stderr)
    return 0


if __name__ == "__main__":
    script_main(main)
