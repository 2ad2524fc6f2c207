"""memory: turns -> the owner's past messages (redacted), each with the message it answered, its chat and time.

What `doppel chat --memory` retrieves from at reply time (doppel/memory). Built from the segment stage's turns,
which come from scrub's redacted messages: the memory never holds raw text. Private like all interim data.
"""
import sys

from doppel import config, io
from doppel.memory import index
from doppel.tables import TURN
from doppel.shell import script_main, stage_parser


def main(argv: list[str] | None = None) -> int:
    args = stage_parser("memory", __doc__, input=("data/interim/turns.parquet", "turn table from segment"),
                        output=("data/interim/memory.parquet", "memory table"),
                        report="reports/memory.json").parse_args(argv)
    cfg = config.load("memory", args.params)
    turns = io.read_table(args.input, index.COLUMNS_READ, TURN)
    memory, report = index.run(cfg, turns)
    io.write_parquet(memory, args.output)
    io.write_json(args.report, report)
    print(f"{index.summary(report)} -> {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    script_main(main)
