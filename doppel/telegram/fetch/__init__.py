"""`doppel fetch`: download your Telegram chats with Telethon into data/raw/telethon (incremental, resumable).

One file per chat, `OUT/chat_<id>.jsonl`: line 1 a header
`{"chat": {"id", "type", "name"}, "owner_id": "user<your id>"}`, then one message per line in the
Telegram Desktop export's message shape (same ids, keys and media keys), in increasing id order, so ingest
reads these files and Desktop exports alike.

The file is the truth. Messages are appended a batch at a time (flushed and fsynced), then a per-chat
checkpoint (`OUT/.checkpoints/chat_<id>.json`) is replaced atomically; the checkpoint never runs ahead of
the file. On start a partial last line (a run killed mid-write) is cut off and the download resumes after
the last message id actually in the file, so a run killed at any point and rerun ends with exactly the
messages of an uninterrupted run. A rerun fetches only messages newer than those in the files.

Credentials: TELEGRAM_API_ID / TELEGRAM_API_HASH, or api_id / api_hash in
$XDG_CONFIG_HOME/doppel/telegram.toml (default ~/.config/doppel/telegram.toml); get them at
https://my.telegram.org. The login session (a full login: treat it like a password) lives outside the
repository, by default $XDG_CONFIG_HOME/doppel/telethon.session, its folder 0700 and the file 0600.

Modules: session (credentials, the login session file), dialogs (which chats), export (a Telethon message ->
the Desktop export's shape), media, chatfile (the jsonl file with its checkpoint and recovery), fetcher (the
run, FloodWaits), command (`main`, the Telethon client).
"""
