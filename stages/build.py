"""build: turns -> instruction rows (litgpt JSON: train.json, val.json), split by time.

One row per owner turn with context: the session's previous turns, labelled by speaker and trimmed from the
oldest side to `build.context_tokens`. The latest sessions (`build.val_share`) go to val. An empty val split
is refused (exit 2) before anything trains; fewer train rows than `build.min_train_rows_warning`, a warning.
With `memory.enabled` each row gets its memory block (doppel.memory.rows: from the train split, before the row).
"""
import sys

from doppel import build, config, io
from doppel.errors import InputError
from doppel.memory import rows as memory_rows
from doppel.shell import script_main, stage_parser
from doppel.schemas import Turn


def main(argv: list[str] | None = None) -> int:
    args = stage_parser("build", __doc__, input=("data/interim/turns.parquet", "turn table"),
                        output=("data/processed", "dataset folder, receives train.json and val.json"),
                        report="reports/dataset.json").parse_args(argv)
    cfg = config.load("build", args.params)
    memory = config.load("memory", args.params)
    build.context_budget(cfg, memory_rows.reserve(memory), str(args.params))
    turns = io.read_table(args.input, list(Turn.to_schema().columns), Turn)
    try:
        train, val, report = build.run(cfg, turns, memory)
    except InputError as err:  # the core names its frame ("turns"); the user's line names the file read
        raise InputError(args.input, err.problem) from None
    io.write_rows(train, args.output / "train.json", build.ROW_KEYS)
    io.write_rows(val, args.output / "val.json", build.ROW_KEYS)
    io.write_json(args.report, report)
    print(build.summary(report, cfg), file=sys.stderr)
    return 0


if __name__ == "__main__":
    script_main(main)
