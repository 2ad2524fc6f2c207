"""Where the server listens: loopback or not (beyond loopback needs an API key), and binding the socket."""
from __future__ import annotations

import ipaddress
import socket

from doppel.errors import InputError


def is_loopback(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bind(host: str, port: int) -> socket.socket:
    """A listening socket, bound before the model loads so that a busy port fails at once, in one line."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as err:
        raise InputError(f"--host {host}", f"cannot resolve the address ({err.strerror})") from None
    family, _, _, _, address = infos[0]
    try:
        return socket.create_server(address, family=family, backlog=256)
    except OSError as err:
        where = f"{host}:{port}"
        if err.errno in (98, 48, 10048):  # EADDRINUSE on Linux, macOS, Windows
            raise InputError(where, "address already in use (another `doppel serve`?); pick another --port") from None
        raise InputError(where, f"cannot bind ({err.strerror or err})") from None


# A shared secret shorter than this is guessable, for `doppel serve`'s API key and `doppel quiz`'s shared link
# alike. serve warns (not refuses: a loopback test key may be short); quiz refuses (its key exists only for other
# devices, and quiz makes per-player links of 22 characters itself).
MIN_KEY_CHARS = 16


def weak_key_warning(api_key: str | None) -> str | None:
    """The warning for an API key shorter than MIN_KEY_CHARS (None: no key, or long enough)."""
    if api_key and len(api_key) < MIN_KEY_CHARS:
        return (f"doppel serve: warning: the API key is {len(api_key)} characters; use at least "
                f"{MIN_KEY_CHARS} random ones (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(24))'`)")
    return None
