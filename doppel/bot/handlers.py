"""What the bot may do, decided without Telegram: which chats, the kill switch, whether a reply is usable, and
in auto mode whether it may send now (quiet hours, the owner's pause, per-chat and global rate limits) or
leaves a draft instead. Times come from the caller's clock, so tests inject one."""
from __future__ import annotations

import re
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime

from doppel.config import BotConfig
from doppel.redact.patterns import COUNT_RE

HOUR_S = 3600.0
SWITCH_RE = re.compile(r"^\s*/doppel(?:@\w+)?(?:\s+(\S+))?\s*$", re.IGNORECASE)
SWITCH_WORDS = {"off": "off", "stop": "off", "on": "on", "start": "on", "status": "status", None: "status"}
SWITCH_HELP = "doppel bot: send /doppel off, /doppel on or /doppel status here (Saved Messages)"


@dataclass
class State:
    """What the running bot remembers: the kill switch, its own drafts, its sends, the owner's activity."""
    enabled: bool = True
    suggestions: dict[int, str] = field(default_factory=dict)   # chat -> the text of its draft there
    sends: dict[int, deque] = field(default_factory=dict)       # chat -> send times (epoch s), last hour
    all_sends: deque = field(default_factory=deque)
    owner_wrote: dict[int, float] = field(default_factory=dict)  # chat -> when the owner last wrote there
    latest_in: dict[int, int] = field(default_factory=dict)      # chat -> newest incoming message id
    sent_texts: dict[int, deque] = field(default_factory=dict)  # chat -> what the bot itself sent lately
    auto_stopped: str | None = None  # set when Telegram limits the account: drafts only from then on
    counts: Counter = field(default_factory=Counter)

    def newest(self, chat: int, message_id: int) -> bool:
        """Record an incoming message; False when a newer one is already known (this one is stale)."""
        latest = max(self.latest_in.get(chat, 0), message_id)
        self.latest_in[chat] = latest
        return message_id >= latest

    def stale(self, chat: int, message_id: int) -> bool:
        return self.latest_in.get(chat, 0) > message_id

    def record_send(self, chat: int, at: float, text: str) -> None:
        self.sends.setdefault(chat, deque()).append(at)
        self.all_sends.append(at)
        self.sent_texts.setdefault(chat, deque(maxlen=50)).append(text.strip())

    def by_bot(self, chat: int, text: str | None) -> bool:
        """An outgoing message the bot sent itself (not the owner writing: no pause for it)."""
        return (text or "").strip() in self.sent_texts.get(chat, ())

    def owner_last(self, chat: int, history: list) -> float | None:
        """When the owner (not the bot) last wrote in this chat: from its events and the history read."""
        times = [m.date.timestamp() for m in history
                 if getattr(m, "out", False) and m.date and not self.by_bot(chat, getattr(m, "message", None))]
        return max([*times, self.owner_wrote.get(chat, 0.0)]) or None

    def sends_last_hour(self, chat: int | None, at: float) -> int:
        times = self.all_sends if chat is None else self.sends.get(chat, deque())
        while times and times[0] <= at - HOUR_S:
            times.popleft()
        return len(times)


def parse_switch(text: str | None) -> str | None:
    """`/doppel off|on|status` (also `/doppel` alone: status) -> the word; `help` for an unknown one; None
    when the text is no switch command at all."""
    m = SWITCH_RE.match(text or "")
    if not m:
        return None
    return SWITCH_WORDS.get(m.group(1).lower() if m.group(1) else None, "help")


def matches(refs: list, chat_id: int, username: str | None) -> bool:
    """A chat is in a list of ids and @usernames (compared without case)."""
    name = f"@{username.lower()}" if username else None
    return any(ref == chat_id or (name is not None and ref == name) for ref in refs)


def skip_reason(cfg: BotConfig, chat_id: int, username: str | None, is_person: bool) -> str | None:
    """Why the bot does not act in this private chat at all, or None when it may (draft, or send if allowed)."""
    if not is_person:
        return "not a person (bot, service account, deleted account)"
    if matches(cfg.deny, chat_id, username):
        return "in bot.deny"
    return None


def unusable(reply: str) -> str | None:
    """Why a reply must be neither drafted nor sent: empty, or holding a redaction placeholder."""
    if not reply.strip():
        return "empty reply"
    m = re.search(COUNT_RE, reply)
    if m:
        return f"reply holds the placeholder {m.group(0)}"
    return None


def draft_is_ours(draft_text: str, suggestion: str | None) -> bool:
    """An empty draft, or the bot's own earlier suggestion: anything else is the owner typing."""
    text = (draft_text or "").strip()
    return not text or (suggestion is not None and text == suggestion.strip())


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def in_quiet_hours(spec: str | None, now: datetime) -> bool:
    """`23:00-08:00`: from 23:00 up to (not including) 08:00 local time, across midnight."""
    if not spec:
        return False
    start, end = (_minutes(p) for p in spec.split("-"))
    if start == end:  # `8:00-08:00`: an empty span, not the whole day
        return False
    t = now.hour * 60 + now.minute
    return start <= t < end if start < end else (t >= start or t < end)


def send_block(cfg: BotConfig, state: State, chat_id: int, username: str | None, now: datetime,
               owner_last: float | None) -> str | None:
    """Why auto mode must not send in this chat now (it drafts instead), or None: it may send."""
    if cfg.mode != "auto":
        return "draft mode"
    if not matches(cfg.allow, chat_id, username):
        return "not in bot.allow"
    if state.auto_stopped:
        return state.auto_stopped
    if in_quiet_hours(cfg.quiet_hours, now):
        return f"quiet hours {cfg.quiet_hours}"
    at = now.timestamp()
    wrote = owner_last or 0.0
    if wrote and at - wrote < cfg.owner_pause_minutes * 60:
        left = cfg.owner_pause_minutes - (at - wrote) / 60
        return f"you wrote here recently (paused {left:.0f} more min)"
    if state.sends_last_hour(chat_id, at) >= cfg.per_chat_per_hour:
        return f"per-chat limit ({cfg.per_chat_per_hour} an hour)"
    if state.sends_last_hour(None, at) >= cfg.global_per_hour:
        return f"global limit ({cfg.global_per_hour} an hour)"
    return None


def status_text(cfg: BotConfig, state: State, now: datetime) -> str:
    """The answer to `/doppel status`: on or off, the mode, what it did since it started."""
    c = state.counts
    line = (f"doppel bot: {'on' if state.enabled else 'off'}, mode {cfg.mode}; since start: "
            f"{c['drafted']} drafted, {c['sent']} sent, {c['kept']} of your drafts left alone, "
            f"{c['suppressed']} replies suppressed")
    if cfg.mode == "auto":
        line += (f"; sends this hour {state.sends_last_hour(None, now.timestamp())}/{cfg.global_per_hour}, "
                 f"{len(cfg.allow)} chat(s) allowed")
        if cfg.quiet_hours:
            line += f", quiet hours {cfg.quiet_hours}" + (" (now)" if in_quiet_hours(cfg.quiet_hours, now) else "")
        if state.auto_stopped:
            line += f"; sending stopped: {state.auto_stopped}"
    return line
