"""The one loaded twin and the queue in front of it.

HTTP handlers turn a request into a `Job` (the prompt exactly as `doppel chat` builds it, the sampling
settings) and `submit` it; one worker thread owns the model and decodes jobs in arrival order. Waiting
unseeded jobs with the same sampling settings are decoded together, one forward per step for the whole
batch (up to `max_batch` rows); a seeded job always runs alone, so that its reply is the one `doppel chat
--seed` gives. Each job gets its events through its own `emit` callback (called from the worker thread):

    ("delta", text)                                        # the next certain piece of the reply
    ("end", finish_reason, prompt_tokens, completion_tokens)  # "stop" or "length"
    ("error", message)

Memory (doppel.memory): with `memory.enabled` and the memory table, each prompt gets the memory block `doppel chat`
puts there. serve has no chat of its own: under `memory.scope: chat` a request names its chat in OpenAI's `user`
field (the chat id, e.g. "4242", as `doppel bot --api-base` sends it) and recalls only from that chat; a request
without it (or with anything else there) gets no memory. Under `all` every request recalls from every chat.

A job whose client went away is `cancel()`ed: its row stops at the next token, and a job still waiting is
dropped, so the slot is free for the next one.
"""
from __future__ import annotations

import sys
import threading
import traceback
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

from doppel.model.conversation import Conversation
from doppel.config import MemoryConfig, ServeConfig
from doppel.memory.recall import chat_of, recall_for
from doppel.model.sampling import TextCut
from doppel.serve.protocol import APIError, ChatRequest

Emit = Callable[[tuple], None]


@dataclass
class Job:
    ids: list[int]
    max_new: int
    temperature: float
    top_k: int | None
    top_p: float
    seed: int | None
    stops: list[str]
    emit: Emit
    cancelled: threading.Event = field(default_factory=threading.Event)

    def cancel(self) -> None:
        self.cancelled.set()

    def batch_key(self) -> tuple | None:
        """Jobs with equal keys may share a batch; a seeded job (None) shares with nobody."""
        return None if self.seed is not None else (self.temperature, self.top_k, self.top_p)


class StopCut:
    """The request's own `stop` sequences on the reply text: text is released once it cannot be the start
    of a stop sequence; at the first one found the reply ends there (the sequence itself is not returned)."""

    def __init__(self, stops: list[str]):
        self.stops, self.pending, self.stopped = stops, "", False

    def push(self, piece: str) -> str:
        if self.stopped or not self.stops:
            return "" if self.stopped else piece
        text = self.pending + piece
        hits = [i for i in (text.find(s) for s in self.stops) if i >= 0]
        if hits:
            self.stopped, self.pending = True, ""
            return text[:min(hits)]
        hold = max((n for s in self.stops for n in range(1, min(len(s), len(text) + 1)) if text.endswith(s[:n])),
                   default=0)
        self.pending = text[len(text) - hold:] if hold else ""
        return text[:len(text) - hold]

    def finish(self) -> str:
        out, self.pending = ("" if self.stopped else self.pending), ""
        return out


class _Row:
    """One job inside a decoding batch: tokens in, reply pieces and the end event out (as `Twin.stream`)."""

    def __init__(self, job: Job, tokenizer, eos_id: int | None):
        self.job, self.eos_id = job, eos_id
        self.cut, self.stop = TextCut(tokenizer), StopCut(job.stops)
        self.tokens, self.finished = 0, False

    def feed(self, token: int) -> None:
        if self.job.cancelled.is_set():
            self.finished = True
            return
        self.tokens += 1
        if self.eos_id is not None and token == self.eos_id:
            return self.end("stop")
        self._send(self.stop.push(self.cut.push(token)))
        if self.cut.stopped or self.stop.stopped:
            self.end("stop")
        elif self.tokens >= self.job.max_new:
            self.end("length")

    def end(self, reason: str) -> None:
        self._send(self.stop.push(self.cut.finish()) + self.stop.finish())
        self.finished = True
        self.job.emit(("end", reason, len(self.job.ids), self.tokens))

    def _send(self, piece: str) -> None:
        if piece:
            self.job.emit(("delta", piece))


class Engine:
    """The twin, a bounded wait queue and the worker thread that decodes what is queued."""

    def __init__(self, twin, cfg: ServeConfig, system: str, context_tokens: int, memory=None,
                 memory_cfg: MemoryConfig | None = None):
        self.twin, self.cfg, self.system, self.context_tokens = twin, cfg, system, context_tokens
        self.memory, self.memory_cfg = memory, memory_cfg   # doppel.memory.store.Memory, or None: no memory
        # a model with sliding-window layers keeps a ring-buffer KV cache: one row at a time (as generate_batch)
        self.max_batch = 1 if twin.window_size() else cfg.max_batch
        self._waiting: deque[Job] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self.running = 0
        self._thread = threading.Thread(target=self._work, name="doppel-serve-engine", daemon=True)
        self._thread.start()

    # --------------------------------------------------------------------------------- requests -> jobs

    def job(self, req: ChatRequest, emit: Emit) -> Job:
        """The prompt and settings for a request (cut to the context budget exactly as `doppel chat` does)."""
        new = req.new_tokens()
        if new is None:
            new = self.cfg.max_new_tokens
        elif new > self.cfg.max_tokens_cap:
            raise APIError(400, f"{req.new_tokens_param()} is too large: {new}. This server allows at most "
                                f"{self.cfg.max_tokens_cap} completion tokens.", param=req.new_tokens_param())
        system, turns = self.conversation(req)
        new, keep = self.twin.budget(new)
        prompt = self._prompt(system, turns, new, chat_of(req.user))
        return Job(ids=self.twin.encode_prompt(prompt, keep), max_new=new,
                   temperature=self.cfg.temperature if req.temperature is None else float(req.temperature),
                   top_k=self.cfg.top_k or None, top_p=self.cfg.top_p if req.top_p is None else float(req.top_p),
                   seed=req.seed, stops=list(req.stop or []), emit=emit)

    def conversation(self, req: ChatRequest) -> tuple[str, list[tuple[bool, str]]]:
        """(system line, turns): system/developer messages make the system line (else the configured one),
        `user` is the other person, `assistant` the owner, as in training."""
        system = [m.text for m in req.messages if m.role in ("system", "developer")]
        turns = [(m.role == "assistant", m.text) for m in req.messages if m.role in ("user", "assistant")]
        return ("\n".join(system) if system else self.system), turns

    def _prompt(self, system: str, turns: list[tuple[bool, str]], new: int, chat_id: int | None = None) -> str:
        recall = recall_for(self.memory, self.memory_cfg, chat_id)
        conv = Conversation(self.twin, system, self.cfg.sampling, self.context_tokens, recall)
        conv.turns = list(turns)
        return conv.prompt(new)

    # --------------------------------------------------------------------------------------- the queue

    def submit(self, job: Job) -> None:
        with self._cond:
            if self._closed:
                raise APIError(503, "The server is shutting down.", kind="server_error")
            if len(self._waiting) >= self.cfg.max_queue:
                raise APIError(503, f"The server is busy ({len(self._waiting)} requests waiting); retry shortly.",
                               kind="server_error", code="queue_full")
            self._waiting.append(job)
            self._cond.notify()

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def close(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._closed = True
            for job in self._waiting:
                job.emit(("error", "The server is shutting down."))
            self._waiting.clear()
            self._cond.notify_all()
        self._thread.join(timeout)

    def _take(self) -> list[Job]:
        with self._cond:
            while not self._closed:
                while self._waiting and self._waiting[0].cancelled.is_set():
                    self._waiting.popleft()
                if self._waiting:
                    break
                self._cond.wait()
            if self._closed:
                return []
            first = self._waiting.popleft()
            batch, key = [first], first.batch_key()
            if key is not None:
                for job in list(self._waiting):
                    if len(batch) >= self.max_batch:
                        break
                    if job.batch_key() == key and not job.cancelled.is_set():
                        batch.append(job)
                        self._waiting.remove(job)
            self.running = len(batch)
            return batch

    def _work(self) -> None:
        while batch := self._take():
            try:
                self._decode(batch)
            except Exception:  # noqa: BLE001 - the server keeps going; the client gets a 500-style error
                traceback.print_exc(file=sys.stderr)
                for job in batch:
                    job.emit(("error", "The server had an error while generating the reply."))
            finally:
                self.running = 0

    def _decode(self, batch: list[Job]) -> None:
        twin, first = self.twin, batch[0]
        rows = [_Row(job, twin.tokenizer, twin.eos_id) for job in batch]
        done = [False] * len(rows)
        steps = twin.decode_steps([j.ids for j in batch], max(j.max_new for j in batch), first.temperature,
                            first.top_k, first.top_p, first.seed, done)
        for tokens in steps:
            for i, (row, token) in enumerate(zip(rows, tokens, strict=True)):
                if not row.finished:
                    row.feed(token)
                done[i] = row.finished
        for row in rows:
            if not row.finished:  # the context is full
                row.end("length")
