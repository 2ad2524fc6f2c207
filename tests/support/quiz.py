"""`doppel quiz` for tests: its files (val rows, params) for the tiny twin, and the command in a subprocess."""
from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

from support import twin as F

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 120  # a guard for a broken start (the model loads in a few seconds), never a pace


def quiz_files(root: Path, ck: Path, ad: Path) -> tuple[Path, Path, Path, Path]:
    """(base, adapter, params, root): 3 rounds from 4 synthetic val sessions, results and report under root."""
    val = root / "val.json"
    val.write_text(json.dumps(F.make_rows(4, 2), ensure_ascii=False))
    params = F.write_params(root / "params.yaml",
                            chat={"max_new_tokens": 10, "temperature": 0.9, "top_k": 40, "top_p": 0.95, "seed": None},
                            quiz={"val": str(val), "rounds": 3, "seed": 11, "port": 0, "device": "cpu",
                                  "adapter": str(ad), "results": str(root / "results.jsonl"),
                                  "report": str(root / "report.json")})
    return ck, ad, params, root


def env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1", **extra}


def cli(*argv: str, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "doppel.cli", "quiz", *argv], capture_output=True, text=True,
                          cwd=REPO, env=env(**extra), timeout=START_TIMEOUT_S)


class Quiz:
    """`doppel quiz` in a subprocess; `url` once it serves; stderr kept in `lines`."""

    def __init__(self, argv: list[str], **extra: str):
        self.proc = subprocess.Popen([sys.executable, "-m", "doppel.cli", "quiz", *argv], cwd=REPO, env=env(**extra),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        found: queue.Queue = queue.Queue()

        def read() -> None:
            for line in self.proc.stderr:
                self.lines.append(line)
                if m := re.search(r"(play|[\w ]+): (http://127\.0\.0\.1:\d+/\S*)", line):
                    found.put(m.group(2))
            found.put(None)

        threading.Thread(target=read, daemon=True).start()
        self.url = found.get(timeout=START_TIMEOUT_S)
        assert self.url, "".join(self.lines)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        return self.proc.wait(5)
