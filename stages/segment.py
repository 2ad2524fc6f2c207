"""segment: messages -> sessions -> turns (consecutive messages of one sender merged).

A session starts after a silence longer than `segment.session_gap_hours`; sessions in which the owner never
speaks are dropped (`segment.drop_sessions_without_owner`). Also writes the dataset's activity plots
(the owner's messages by hour and weekday, session lengths: counts only, no text) to plots/activity/.
"""
import sys
from pathlib import Path

from doppel import config, io
from doppel import segment
from doppel.activity import write_activity_plots
from doppel.schemas import Message
from doppel.shell import script_main, stage_parser


def main(argv: list[str] | None = None) -> int:
    ap = stage_parser("segment", __doc__, input=("data/interim/messages_clean.parquet", "redacted message table"),
                      output=("data/interim/turns.parquet", "turn table"), report="reports/segment.json")
    ap.add_argument("--plots", type=Path, default=Path("plots/activity"),
                    help="activity plots' data: hours.json, weekdays.json, sessions.json (default: plots/activity)")
    args = ap.parse_args(argv)
    cfg = config.load("segment", args.params)
    messages = io.read_table(args.input, segment.COLUMNS_READ, Message, optional=segment.COLUMNS_OPTIONAL)
    turns, report = segment.run(cfg, messages)
    io.write_parquet(turns, args.output)
    io.write_json(args.report, report)
    write_activity_plots(args.plots, messages, turns, cfg.time_zone)
    print(segment.summary(report), file=sys.stderr)
    return 0


if __name__ == "__main__":
    script_main(main)
