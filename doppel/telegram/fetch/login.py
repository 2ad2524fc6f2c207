"""Connecting and logging in, each failure named for what it is: no network, refused, timed out, closed by the
other side, not logged in yet (and no terminal to log in from), api_id/api_hash rejected, a FloodWait on the
login, a two-step verification password needed. Each is a `Stop` (one line, exit 2)."""
from __future__ import annotations

import asyncio
import logging
from contextlib import contextmanager

from doppel.telegram.flood import Stop, flood_errors, format_wait

NOT_LOGGED_IN = ("not logged in yet: run `doppel fetch` once in a terminal to log in (phone number, login code, "
                 "2FA password)")
RERUN = "; rerun `doppel fetch` when it is back"
LOGIN_MISTAKES = {"PhoneNumberInvalidError": "the phone number is not valid (with the country code: +44...)",
                  "PhoneCodeInvalidError": "the login code is wrong", "PhoneCodeExpiredError": "the login code expired",
                  "PasswordHashInvalidError": "the 2FA password is wrong"}


class _Records(logging.Handler):
    """Telethon's warnings during the connection (it logs the cause of each failed attempt, then raises a
    generic ConnectionError): kept to name the cause, and kept off the terminal."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def telethon_warnings():
    logger = logging.getLogger("telethon")
    handler, propagate = _Records(), logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield handler.records
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def connection_problem(err: BaseException, records: list[logging.LogRecord]) -> str:
    """What stopped the connection, from the error and telethon's last warning about it."""
    text = " ".join([f"{type(err).__name__} {err}", *(r.getMessage() for r in records[-2:])]).lower()
    if "refused" in text:
        return "Telegram refused the connection (a firewall, or a proxy that is needed?)" + RERUN
    if "timeout" in text or "timed out" in text:
        return "timed out reaching Telegram (a slow or filtered network?)" + RERUN
    if any(w in text for w in ("unreachable", "name or service", "nodename", "temporary failure in name",
                               "no address", "gaierror", "no route")):
        return "no network: cannot reach Telegram" + RERUN
    if "closed the connection" in text or "auth_key generation failed" in text or "incompleteread" in text:
        return "Telegram closed the connection (a network that blocks Telegram?)" + RERUN
    return f"cannot reach Telegram ({err})" + RERUN


async def connect(client) -> None:
    with telethon_warnings() as records:
        try:
            await client.connect()
        except (ConnectionError, OSError, asyncio.TimeoutError, EOFError) as err:  # EOF: IncompleteReadError
            raise Stop(connection_problem(err, records)) from None
    if not client.is_connected():
        raise Stop(connection_problem(ConnectionError("not connected"), []))


async def log_in(client, interactive: bool) -> None:
    """Connect, check the api id (a request that needs no login), then the login: a session already logged in
    goes on; otherwise the interactive login (phone, code, 2FA password) in a terminal, or a Stop without one."""
    from telethon import errors, functions

    await connect(client)
    try:
        with telethon_warnings():
            await client(functions.help.GetConfigRequest())
            authorized = await client.is_user_authorized()
            if authorized:
                return
            if not interactive:
                raise Stop(NOT_LOGGED_IN)
            await client.start()  # asks for the phone number, the login code, the 2FA password
    except (errors.ApiIdInvalidError, errors.ApiIdPublishedFloodError) as err:
        raise Stop("Telegram rejected the api id / api hash (TELEGRAM_API_ID, TELEGRAM_API_HASH): copy both from "
                   f"https://my.telegram.org > API development tools ({type(err).__name__})") from None
    except errors.SessionPasswordNeededError:
        raise Stop("this account has two-step verification: run `doppel fetch` in a terminal and enter the "
                   "password when asked") from None
    except flood_errors() as err:
        raise Stop(f"Telegram asks to wait {format_wait(getattr(err, 'seconds', 0) or 0)} before logging in "
                   "again; rerun `doppel fetch` after that") from None
    except (errors.PhoneNumberInvalidError, errors.PhoneCodeInvalidError, errors.PhoneCodeExpiredError,
            errors.PasswordHashInvalidError) as err:
        raise Stop(f"the login failed: {LOGIN_MISTAKES[type(err).__name__]}; rerun `doppel fetch` to try again") \
            from None
    except asyncio.IncompleteReadError as err:  # an EOFError too: the server hung up, not the terminal
        raise Stop(connection_problem(err, [])) from None
    except EOFError:  # input() at the login prompts with no terminal behind stdin
        raise Stop(NOT_LOGGED_IN) from None
    except (ConnectionError, OSError, asyncio.TimeoutError) as err:
        raise Stop(connection_problem(err, [])) from None
