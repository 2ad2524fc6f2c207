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
