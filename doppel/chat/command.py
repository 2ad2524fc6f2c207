"""`doppel chat`: talk to the twin in the terminal.

You speak as the other person ("Them"), the twin answers as the owner ("Me"). The conversation so far is
the context (rendered like a training row, with the build stage's system prompt), trimmed from the oldest
turn to fit the model's context; the reply streams to stdout as it is generated.

    doppel chat                          # base + models/adapter; /reset starts over, /quit or Ctrl-D ends
    doppel chat --message "are you in?"  # one reply, then exit
    doppel chat --no-adapter             # the base model alone, for comparison
    printf 'hi\nпривет\n' | doppel chat  # piped: each reply ends with an empty line
    printf 'hi\n' | doppel chat --jsonl  # piped: one JSON object per reply, {"message": ..., "reply": ...}
                                         # (piped empty lines get no reply: their count is said at the end)
    doppel chat --chat 4242 --show-memory   # memory from chat 4242 (memory.scope: chat), shown before each reply

With `memory.enabled`, each reply's prompt gets the owner's most relevant past messages (doppel/memory: the
memory stage's table, data/interim/memory.parquet) in one block after the system line; under `memory.scope: chat`
they come only from the chat given with --chat (none without it), under `all` from every chat.

Any line starting with `/` is a command (/reset, /quit, /help); an unknown one gets a hint and never reaches
the twin. Start a message with `//` to send it with a single leading `/`.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TextIO

from doppel import config
from doppel.memory.recall import TABLE as MEMORY_TABLE
from doppel.errors import InputError
from doppel.model.conversation import Conversation
from doppel.model.load import load_twin
from doppel.shell import ArgumentParser, add_twin_flags, twin_flags

COMMANDS = {"/reset": "forget the conversation so far", "/quit": "end the chat (also Ctrl-D)", "/help": "this list"}
QUIT, RESET, HELP = ("/quit", "/exit", "/q"), ("/reset",), ("/help", "/?")
ESCAPE = "//"  # a message that starts with "/" is typed with "//"
REPLY_END = "\n\n"  # piped (not a terminal), plain: a reply and the empty line that ends it


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = ArgumentParser(prog="doppel chat", description="Talk to the twin in the terminal.")
    p.add_argument("-m", "--message", help="reply to this one message and exit")
    p.add_argument("--jsonl", action="store_true",
                   help='one JSON object per reply on stdout, {"message": ..., "reply": ...} (for scripts)')
    p.add_argument("--chat", type=int, dest="chat_id", default=None,
                   help="the chat id you are talking in, as in the export: memory.scope chat recalls only from it")
    p.add_argument("--show-memory", action="store_true",
                   help="print the memories retrieved for each reply (stderr), with chat, date and score")
    p.add_argument("--memory-table", type=Path, default=MEMORY_TABLE,
                   help=f"the memory stage's table (default: {MEMORY_TABLE})")
    add_twin_flags(p, "chat", sampling=True)
    p.add_argument("--params", type=Path, default=config.PARAMS_FILE,
                   help="params file: sections chat, build and base (default: params.yaml)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None, stdin: TextIO | None = None, stdout: TextIO | None = None,
         stderr: TextIO | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    stdin, stdout, stderr = stdin or sys.stdin, stdout or sys.stdout, stderr or sys.stderr
    if args.message is not None and not args.message.strip():
        raise InputError("--message", "is empty: give the text the twin should reply to")
    cfg = config.load("chat", args.params, overrides=twin_flags(args))
    build = config.load("build", args.params)
    twin = load_twin(args.params, args.base, None if args.no_adapter else cfg.adapter, cfg.device, cfg.precision)
    recall = _recall(args, cfg.context_tokens, stderr)
    chat = Conversation(twin, build.system_prompt, cfg.sampling, cfg.context_tokens, recall)
    checkpoint, adapter = twin.checkpoint_dir, twin.adapter_dir

    def write(piece: str) -> None:
        stdout.write(piece)
        stdout.flush()

    if recall is not None and args.show_memory:
        chat.recall = _shown(recall, stderr)

    if args.message is not None:
        reply = chat.say(args.message, lambda s: None if args.jsonl else write(s))
        write(_record(args.message, reply) if args.jsonl else "\n")
        return 0

    tty = stdin.isatty() and stdout.isatty() and not args.jsonl
    who = f"adapter {adapter}" if adapter else "base model, no adapter"
    print(f"doppel chat: {checkpoint.name} + {who} (context {twin.block_size} tokens). "
          "You are 'Them'; /reset starts over, /quit or Ctrl-D ends.", file=stderr)
    if tty:
        try:
            import readline  # noqa: F401  (line editing and history for input())
        except ImportError:
            pass
    blank = 0   # piped empty lines: no reply (there is nothing to answer), counted and said at the end
    while True:
        try:
            line = (input("you> ") + "\n") if tty else stdin.readline()
        except (EOFError, KeyboardInterrupt):
            line = ""
        if not line:  # EOF (Ctrl-D), or Ctrl-C at the prompt
            if tty:
                write("\n")
            return _skipped(blank, stderr)
        text = line.rstrip("\r\n")
        if not text.strip():
            blank += not tty
            continue
        if text.startswith("/") and not text.startswith(ESCAPE):
            if command(text.strip().lower(), chat, stderr):
                return _skipped(blank, stderr)
            continue
        text = text[1:] if text.startswith(ESCAPE) else text
        _turn(chat, text, write, tty, args.jsonl)


def _skipped(blank: int, stderr: TextIO) -> int:
    """The end of a piped chat: the empty input lines that got no reply, if any, said on stderr; exit code 0."""
    if blank:
        print(f"(skipped {blank} empty line{'s' if blank > 1 else ''}: an empty message gets no reply)", file=stderr)
    return 0


def _recall(args: argparse.Namespace, context_tokens: int, stderr: TextIO):
    """The memory for this chat (a Recall), or None with a note on stderr when there is none to use."""
    from doppel.memory.recall import Recall, open_memory

    cfg = config.load("memory", args.params)
    if not cfg.enabled:
        return None
    if cfg.scope == "chat" and args.chat_id is None:
        print("(memory: memory.scope is chat: give --chat ID to recall from that chat; replying without memory)",
              file=stderr)
        return None
    memory = open_memory(cfg, args.memory_table, context_tokens, str(args.params), stderr,
                         fix="run `dvc checkout` first (restores it from the DVC cache), else `dvc repro memory`")
    if memory is None:
        return None
    if cfg.scope == "chat" and not (memory.chat_ids == args.chat_id).any():  # a typo'd id: not "nothing found"
        print(f"(memory: chat {args.chat_id} has no memories in {args.memory_table}; the chat ids are the keys of "
              "`chats` in reports/ingest.json; replying without memory)", file=stderr)
        return None
    return Recall(memory, cfg, args.chat_id)


def _shown(recall, stderr: TextIO):
    """The recall, printing what it retrieved for each reply (--show-memory)."""
    from doppel.memory.recall import describe

    def show(turns):
        text = recall(turns)
        print(describe(recall.last), file=stderr)
        return text
    return show


def command(name: str, chat: Conversation, stderr: TextIO) -> bool:
    """Run a `/` command; True when the chat should end. An unknown one gets a hint; nothing goes to the twin."""
    if name in QUIT:
        return True
    if name in RESET:
        chat.reset()
        print("(conversation reset)", file=stderr)
    elif name in HELP:
        print("\n".join(f"  {c:<7} {t}" for c, t in COMMANDS.items()), file=stderr)
        print(f"  start a message with {ESCAPE} to send it with one leading /", file=stderr)
    else:
        print(f"(unknown command {name.split()[0]}: /help lists them; start with {ESCAPE} to send it as text)",
              file=stderr)
    return False


def _turn(chat: Conversation, text: str, write, tty: bool, jsonl: bool) -> None:
    """One reply: streamed on a terminal; piped, ended by an empty line, or as one JSON object with --jsonl."""
    if tty:
        write("twin> ")
    interrupted = False
    try:
        reply = chat.say(text, (lambda s: None) if jsonl else write)
    except KeyboardInterrupt:
        interrupted, reply = True, chat.turns[-1][1] if chat.turns and chat.turns[-1][0] else ""
        if not jsonl:
            write(" [interrupted]")
    if jsonl:
        write(_record(text, reply, interrupted))
    else:
        write("\n" if tty else REPLY_END)


def _record(message: str, reply: str, interrupted: bool = False) -> str:
    record = {"message": message, "reply": reply, **({"interrupted": True} if interrupted else {})}
    return json.dumps(record, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    from doppel.cli import main as doppel_main

    sys.exit(doppel_main(["chat", *sys.argv[1:]]))
