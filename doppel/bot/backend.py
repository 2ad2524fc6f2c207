"""Where replies come from: the twin in-process (a Conversation: the prompt, budget and seed of `doppel chat`)
or any OpenAI-compatible endpoint (`doppel serve`, vLLM with the exported adapter). Both take the turns,
oldest first, ending with the other person's, and the chat's id, and return the reply text. Calls block: run them
in a thread. Memory (doppel.memory): in-process, the twin recalls as `doppel chat --chat ID` does (memory.scope chat:
only from this chat); an endpoint is told the chat in the request's `user` field (`doppel serve` recalls from it)."""
from __future__ import annotations

import os
import threading

from doppel.config.types import Sampling
from doppel.errors import InputError
from doppel.memory.recall import recall_for
from doppel.model.conversation import Conversation
from doppel.prompt import STOP_STRINGS

API_KEY_ENVS = ("DOPPEL_API_KEY", "OPENAI_API_KEY")


class TwinBackend:
    """The twin loaded in this process; one reply at a time."""

    def __init__(self, twin, system: str, sampling: Sampling, context_tokens: int, memory=None, memory_cfg=None):
        self.twin, self.system, self.sampling, self.context_tokens = twin, system, sampling, context_tokens
        self.memory, self.memory_cfg = memory, memory_cfg   # doppel.memory.store.Memory, or None: no memory
        self._lock = threading.Lock()
        self.name = "the twin in-process"

    def reply(self, turns: list[tuple[bool, str]], chat_id: int | None = None) -> str:
        recall = recall_for(self.memory, self.memory_cfg, chat_id)
        conv = Conversation(self.twin, self.system, self.sampling, self.context_tokens, recall)
        conv.turns = list(turns[:-1])
        with self._lock:
            return conv.say(turns[-1][1]).strip()


class EndpointBackend:
    """An OpenAI-compatible chat-completions endpoint: the system line, then `user` (them) and `assistant` (me)."""

    def __init__(self, base_url: str, model: str, system: str, sampling: Sampling, api_key: str | None = None,
                 timeout_s: float = 120.0):
        import openai

        key = api_key or next((os.environ[k] for k in API_KEY_ENVS if os.environ.get(k)), None) or "none"
        self.client = openai.OpenAI(base_url=base_url, api_key=key, max_retries=2, timeout=timeout_s)
        self.base_url, self.model, self.system, self.sampling = base_url, model, system, sampling
        self.name = f"{model} at {base_url}"

    def check(self) -> None:
        """Fail at start, in one line, when the endpoint is not there or does not serve the model."""
        import openai

        try:
            models = [m.id for m in self.client.models.list().data]
        except openai.APIError as err:
            raise InputError(f"--api-base {self.base_url}", f"cannot reach the endpoint ({_short(err)})") from None
        if models and self.model not in models:
            raise InputError(f"--api-base {self.base_url}",
                             f"serves {', '.join(models)}, not {self.model!r} (set bot.api_model or --api-model)")

    def messages(self, turns: list[tuple[bool, str]]) -> list[dict]:
        head = [{"role": "system", "content": self.system}] if self.system else []
        return head + [{"role": "assistant" if mine else "user", "content": text} for mine, text in turns]

    def reply(self, turns: list[tuple[bool, str]], chat_id: int | None = None) -> str:
        s = self.sampling
        extra = {"seed": s.seed} if s.seed is not None else {}
        if chat_id is not None:
            extra["user"] = str(chat_id)   # the chat, for the endpoint's memory (doppel serve)
        done = self.client.chat.completions.create(
            model=self.model, messages=self.messages(turns), max_tokens=s.max_new_tokens,
            temperature=s.temperature, top_p=s.top_p, stop=list(STOP_STRINGS), **extra)
        return (done.choices[0].message.content or "").strip() if done.choices else ""


def _short(err: Exception) -> str:
    text = " ".join(str(err).split())
    return text if len(text) <= 160 else text[:157] + "..."
