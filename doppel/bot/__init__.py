"""`doppel bot`: the twin inside Telegram, on the owner's own login.

handlers: what the bot may do (pure: chats, kill switch, limits, pause, quiet hours, usable replies);
context: a chat's recent messages -> the turns the twin sees, exactly as in training;
backend: the twin in-process or an OpenAI-compatible endpoint; responder: the Telegram side (drafts, sends,
FloodWait); log: the local JSONL log; command: `doppel bot` itself.
"""
