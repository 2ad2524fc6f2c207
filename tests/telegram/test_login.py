"""doppel.telegram.fetch.login with Telethon's real client against local sockets (no Telegram server can be
reached from a test; a closed port and a server that hangs up are real): each cause named, in one line."""
from __future__ import annotations

import asyncio
import socket

import pytest
from telethon import TelegramClient
from telethon.sessions import MemorySession

from doppel.telegram.fetch.login import connect
from doppel.telegram.flood import Stop


async def _connect_to(port: int) -> str:
    client = TelegramClient(MemorySession(), 1, "h", connection_retries=1, retry_delay=0)
    client.session.set_dc(2, "127.0.0.1", port)
    try:
        with pytest.raises(Stop) as err:
            await connect(client)
    finally:
        await client.disconnect()
    return str(err.value)


def test_a_refused_connection_and_a_server_that_hangs_up_are_told_apart(capsys):
    async def run() -> tuple[str, str]:
        with socket.socket() as s:  # a port nobody listens on
            s.bind(("127.0.0.1", 0))
            closed = s.getsockname()[1]
        refused = await _connect_to(closed)

        async def hang_up(reader, writer):
            writer.close()
        server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
        try:
            hung_up = await _connect_to(server.sockets[0].getsockname()[1])
        finally:
            server.close()
        return refused, hung_up

    refused, hung_up = asyncio.run(run())
    assert refused.startswith("Telegram refused the connection") and "rerun `doppel fetch`" in refused
    assert hung_up.startswith("Telegram closed the connection") and "not logged in" not in hung_up
    assert capsys.readouterr().err == ""  # telethon's own warnings stay off the terminal
