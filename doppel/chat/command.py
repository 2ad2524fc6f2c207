"""`doppel chat`: talk to the twin in the terminal.

You speak as the other person ("Them"), the twin answers as the owner ("Me"). The conversation so far is
the context (rendered like a training row, with the build stage's system prompt), trimmed from the oldest
turn to fit the model's context; the reply streams to stdout as it is generated.

    doppel chat                          # base + models/adapter; /reset starts over, /quit or Ctrl-D ends
    doppel chat --message "are you in?"  # one reply, then exit
    doppel chat --no-adapter             # the base model alone, for comparison
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from doppel import config
from doppel.model.conversation import Conversation
from doppel.model.load import load_twin
from doppel.shell import ArgumentParser, add_twin_flags, twin_flags

COMMANDS = {"/reset": "forget the conversation so far", "/quit": "end the chat (also Ctrl-D)", "/help": "this list"}


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = ArgumentParser(prog="doppel chat", description="Talk to the twin in the terminal.")
    p.add_argument("-m", "--message", help="reply to this one message and exit")
    add_twin_flags(p, "chat", sampling=True)
    p.add_argument("--params", type=Path, default=config.PARAMS_FILE,
                   help="params file: sections chat, build and base (default: params.yaml)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None, stdin: TextIO | None = None, stdout: TextIO | None = None,
         stderr: TextIO | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    stdin, stdout, stderr = stdin or sys.stdin, stdout or sys.stdout, stderr or sys.stderr
    cfg = config.load("chat", args.params, overrides=twin_flags(args))
    build = config.load("build", args.params)
    twin = load_twin(args.params, args.base, None if args.no_adapter else cfg.adapter, cfg.device, cfg.precision)
    chat = Conversation(twin, build.system_prompt, cfg.sampling, cfg.context_tokens)
    checkpoint, adapter = twin.checkpoint_dir, twin.adapter_dir

    def write(piece: str) -> None:
        stdout.write(piece)
        stdout.flush()

    if args.message is not None:
        chat.say(args.message, write)
        write("\n")
        return 0

    tty = stdin.isatty() and stdout.isatty()
    who = f"adapter {adapter}" if adapter else "base model, no adapter"
    print(f"doppel chat: {checkpoint.name} + {who} (context {twin.block_size} tokens). "
          "You are 'Them'; /reset starts over, /quit or Ctrl-D ends.", file=stderr)
    if tty:
        try:
            import readline  # noqa: F401  (line editing and history for input())
        except ImportError:
            pass
    while True:
        try:
            line = (input("you> ") + "\n") if tty else stdin.readline()
        except (EOFError, KeyboardInterrupt):
            line = ""
        if not line:  # EOF (Ctrl-D), or Ctrl-C at the prompt
            if tty:
                write("\n")
            return 0
        text = line.rstrip("\r\n")
        command = text.strip().lower()
        if not command:
            continue
        if command in ("/quit", "/exit", "/q"):
            return 0
        if command == "/reset":
            chat.reset()
            print("(conversation reset)", file=stderr)
            continue
        if command in ("/help", "/?"):
            print("\n".join(f"  {c:<7} {t}" for c, t in COMMANDS.items()), file=stderr)
            continue
        if tty:
            write("twin> ")
        try:
            chat.say(text, write)
        except KeyboardInterrupt:
            write(" [interrupted]")
        write("\n")


if __name__ == "__main__":
    from doppel.cli import main as doppel_main

    sys.exit(doppel_main(["chat", *sys.argv[1:]]))
