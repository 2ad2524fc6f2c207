"""Telegram API credentials and the login session file (outside the repository, 0700 folder, 0600 file)."""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from doppel.errors import InputError

CREDENTIALS_HELP = (
    "no Telegram API credentials: create an app at https://my.telegram.org (API development tools), "
    "then set TELEGRAM_API_ID and TELEGRAM_API_HASH, or write api_id = ... and api_hash = \"...\" in this file"
)

# the --help epilog of both commands that log in (fetch, bot): the credentials are the same, named once here
CREDENTIALS_EPILOG = (
    "Telegram credentials (the same for doppel fetch and doppel bot): TELEGRAM_API_ID and TELEGRAM_API_HASH "
    "from https://my.telegram.org (API development tools), or api_id / api_hash in "
    "$XDG_CONFIG_HOME/doppel/telegram.toml (~/.config/doppel/); both use the login session doppel fetch made "
    "(fetch.session; null: ~/.config/doppel/telethon.session).")


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base).expanduser() / "doppel"


def _read_toml(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    try:
        import tomllib
    except ImportError:  # Python 3.10: `key = value` lines are all this file needs
        out = {}
        for line in text.splitlines():
            m = re.match(r"\s*([A-Za-z_]+)\s*=\s*(.+?)\s*(#.*)?$", line)
            if m:
                out[m.group(1)] = m.group(2).strip("\"'")
        return out
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise InputError(path, f"not valid TOML ({err})") from None


def load_credentials(env: dict | None = None) -> tuple[int, str]:
    """(api_id, api_hash) from the environment, else from the config file; InputError says how to get them."""
    env = os.environ if env is None else env
    path = config_dir() / "telegram.toml"
    api_id, api_hash = env.get("TELEGRAM_API_ID"), env.get("TELEGRAM_API_HASH")
    if not (api_id and api_hash) and path.is_file():
        data = _read_toml(path)
        data = data.get("telegram", data) if isinstance(data.get("telegram"), dict) else data
        api_id, api_hash = api_id or data.get("api_id"), api_hash or data.get("api_hash")
        if path.stat().st_mode & 0o077:
            print(f"doppel fetch: warning: {path} is readable by others; chmod 600 it", file=sys.stderr)
    if not (api_id and api_hash):
        raise InputError(path, CREDENTIALS_HELP)
    try:
        return int(str(api_id).strip()), str(api_hash).strip()
    except ValueError:
        raise InputError(path, f"api_id must be a number (got {api_id!r}); see https://my.telegram.org") from None


def _git_root(path: Path) -> Path | None:
    for parent in [path, *path.parents]:
        if (parent / ".git").exists():
            return parent
    return None


def resolve_session(arg: str | os.PathLike | None, out_dir: Path) -> Path:
    """The session file's path (ending in .session, as Telethon names it); refused inside a git work tree
    or the output folder: a session is a full login and must never be committed or shipped with data."""
    path = Path(arg).expanduser() if arg else config_dir() / "telethon.session"
    if path.suffix != ".session":
        path = path.with_name(path.name + ".session")
    path = path.absolute().resolve()
    repo = _git_root(path.parent)
    if repo is not None:
        raise InputError(path, f"the login session must live outside the git repository {repo}; "
                         f"pass --session with a path such as {config_dir() / 'telethon.session'}")
    out = out_dir.absolute().resolve()
    if path.parent == out or out in path.parents:
        raise InputError(path, f"the login session must not live in the output folder {out}")
    return path


def prepare_session(path: Path) -> None:
    """Create the session folder 0700 and an empty session file 0600 (sqlite takes an empty file as a new
    database), so the login never exists with looser modes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    secure_session(path)


def _session_files(path: Path) -> tuple[Path, Path]:
    """The session file and the SQLite journal beside it."""
    return path, path.with_name(path.name + "-journal")


def remove_session(path: Path) -> None:
    """Delete a session file and its journal (one that never held a login)."""
    for p in _session_files(path):
        p.unlink(missing_ok=True)


def secure_session(path: Path) -> None:
    for p in _session_files(path):
        if p.exists():
            os.chmod(p, 0o600)


def make_client(session: Path, api_id: int, api_hash: str, cfg):
    """The Telethon client on this session file (fetch and bot alike); `cfg`: the fetch section."""
    from telethon import TelegramClient

    return TelegramClient(str(session), api_id, api_hash, flood_sleep_threshold=cfg.flood_sleep_threshold)
