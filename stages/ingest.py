"""ingest: Telegram exports (Desktop result.json in any JSON layout, `doppel fetch` chat_*.jsonl, a .zip of
either) -> the message table.

Every message read is a row; the ones left out (`ingest.chat_types`, `skip_chats`, forwards, service
messages, media without text, ...) carry their drop reason, counted in the report. The summary says who was
taken as the owner and why, and which `ingest.chat_types` to add when no private chat was kept.
"""
import sys
import tempfile
import time
from pathlib import Path

from doppel import config, ingest, io
from doppel.errors import InputError
from doppel.shell import script_main, stage_parser


def main(argv: list[str] | None = None) -> int:
    ap = stage_parser("ingest", __doc__, output=("data/interim/messages.parquet", "message table (.parquet)"),
                      report="reports/ingest.json")
    ap.add_argument("--input", type=Path, nargs="+",
                    help="result.json / chat_*.jsonl / .zip files or folders holding them (default: params' ingest.input)")
    args = ap.parse_args(argv)
    start = time.perf_counter()
    cfg = config.load("ingest", args.params)
    if args.output.is_dir():
        raise InputError(args.output, "is a folder: --output names the .parquet file to write")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".ingest-", dir=args.output.parent) as spill:
        messages, report = ingest.run(cfg, args.input or [Path(cfg.input)], Path(spill))
        io.write_parquet(messages, args.output)
    io.write_json(args.report, report)
    print(ingest.summary(report, time.perf_counter() - start), file=sys.stderr)
    return 0


if __name__ == "__main__":
    script_main(main)
