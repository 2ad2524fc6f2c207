"""The quiz's web side (stdlib http.server): the page, the next round for a player, and a player's pick.

    GET  {base}              the page (doppel/quiz/page.html: one file, no external assets)
    GET  {base}api/round     the player's next round: context and both replies, never which one is real
    POST {base}api/pick      {"round", "pick": 1 | 2 | 0, "player"}: stored; answers the verdict and the next round

`base` is `/` when the quiz is open (loopback, no key), else `/p/TOKEN/`: a shared key (players type their
name) or a per-player link (the token names the player). Every reply is JSON or the page, with headers that
keep it out of caches, referrers and frames; a cross-site page can neither read it (the Host must be the
server's own on an open quiz) nor post picks (only `application/json` bodies, which a browser preflights).
"""
from __future__ import annotations

import hmac
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from socket import socket
from urllib.parse import parse_qs, urlsplit

from doppel.quiz.report import tally
from doppel.quiz.rounds import Round
from doppel.quiz.store import Pick, Store, player_problem

MAX_BODY = 4096  # bytes: a pick is ~100; anything larger is not one
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",   # a link's token never leaves in a Referer header
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                               "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; "
                               "frame-ancestors 'none'",
}


@dataclass(frozen=True)
class Access:
    """Who may play: `tokens` maps each link's token to the player it names (None: a shared key, players type
    their name). No tokens: the quiz is open, `/` to anyone who reaches it (`doppel quiz` allows that on
    loopback only)."""
    tokens: dict[str, str | None] = field(default_factory=dict)

    @property
    def open(self) -> bool:
        return not self.tokens

    def find(self, token: str) -> tuple[bool, str | None]:
        """(known, player) for a token; every token is compared in constant time."""
        found, player = False, None
        for known, name in self.tokens.items():
            if hmac.compare_digest(known.encode(), token.encode()):
                found, player = True, name
        return found, player


class QuizError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class Game:
    """The rounds in play and who answered what (read back from the store at start, so a restart resumes)."""

    def __init__(self, rounds: list[Round], store: Store):
        self.rounds, self.store = rounds, store
        self.by_id = {r.id: r for r in rounds}
        self._lock = threading.Lock()
        self._answered: dict[str, dict[str, Pick]] = {}
        for p in store.read():
            if p.round in self.by_id:
                self._answered.setdefault(p.player, {})[p.round] = p

    def next_round(self, player: str) -> dict:
        with self._lock:
            done = self._answered.get(player, {})
            for r in self.rounds:
                if r.id not in done:
                    return {"round": shown(r), "number": len(done) + 1, "total": len(self.rounds)}
            return {"done": True, "total": len(self.rounds), "score": tally([p.verdict for p in done.values()])}

    def answer(self, player: str, round_id: str, pick: int) -> dict:
        with self._lock:
            r = self.by_id.get(round_id)
            if r is None:
                raise QuizError(404, "no such round")
            if round_id in self._answered.get(player, {}):
                raise QuizError(409, "this round is answered already")
            entry = self.store.add(r.id, r.real, pick, player)
            self._answered.setdefault(player, {})[r.id] = entry
        return {"verdict": entry.verdict, "real": r.real, **self.next_round(player)}


def shown(r: Round) -> dict:
    """What the page shows of a round: no word of which reply is real."""
    return {"id": r.id, "context": [{"who": "owner" if who == "Me" else "other", "text": text}
                                    for who, text in r.context],
            "replies": list(r.replies)}


def page() -> bytes:
    return resources.files("doppel.quiz").joinpath("page.html").read_bytes()


class QuizHandler(BaseHTTPRequestHandler):
    """One request; `handler()` makes the subclass that knows the game, who may play and the server's port."""
    game: Game
    access: Access
    own_hosts: frozenset[str]   # Host headers an open quiz answers: loopback names with the port
    server_version = "doppel-quiz"
    sys_version = ""

    def log_message(self, format, *args):  # noqa: A002  (paths hold tokens: nothing is logged)
        pass

    def do_GET(self):
        self._guarded(self._get)

    def do_POST(self):
        self._guarded(self._post)

    def _guarded(self, route):
        try:
            route()
        except QuizError as err:
            self._json({"error": str(err)}, err.status)

    def _where(self) -> tuple[str, str | None]:
        """(the path after the base, the player a per-player link names); a 404 without access."""
        path = urlsplit(self.path).path
        if self.access.open:
            host = (self.headers.get("Host") or "").lower()
            if host not in self.own_hosts:   # a page of another site, its name rebound to this address
                raise QuizError(403, "unknown host")
            return path, None
        parts = path.split("/", 3)
        if len(parts) < 3 or parts[1] != "p":
            raise QuizError(404, "not found (open your link, /p/.../)")
        found, player = self.access.find(parts[2])
        if not found:
            raise QuizError(404, "not found (open your link, /p/.../)")
        return "/" + (parts[3] if len(parts) > 3 else ""), player

    def _player(self, given: object, fixed: str | None) -> str:
        if fixed is not None:
            return fixed
        if why := player_problem(given):
            raise QuizError(400, why)
        return given  # type: ignore[return-value]

    def _get(self):
        rest, fixed = self._where()
        if rest == "/":
            return self._send(200, page(), "text/html; charset=utf-8")
        if rest == "/api/round":
            query = parse_qs(urlsplit(self.path).query)
            if fixed is None and not query.get("player"):
                return self._json({"player": None})
            player = self._player((query.get("player") or [None])[0], fixed)
            return self._json({"player": player, **self.game.next_round(player)})
        raise QuizError(404, "not found")

    def _post(self):
        rest, fixed = self._where()
        if rest != "/api/pick":
            raise QuizError(404, "not found")
        if (self.headers.get("Content-Type") or "").split(";")[0].strip().lower() != "application/json":
            raise QuizError(415, "send application/json")
        try:
            length = int(self.headers.get("Content-Length") or "")
        except ValueError:
            raise QuizError(411, "Content-Length required") from None
        if length > MAX_BODY or length < 0:
            raise QuizError(413, f"a pick is at most {MAX_BODY} bytes")
        try:
            body = json.loads(self.rfile.read(length))
        except (ValueError, UnicodeDecodeError):
            raise QuizError(400, "not JSON") from None
        if not isinstance(body, dict) or body.get("pick") not in (0, 1, 2) or isinstance(body.get("pick"), bool) \
                or not isinstance(body.get("round"), str):
            raise QuizError(400, "expected {round, pick: 1, 2 or 0, player}")
        player = self._player(body.get("player"), fixed)
        self._json({"player": player, **self.game.answer(player, body["round"], body["pick"])})

    def _json(self, obj: dict, status: int = 200) -> None:
        self._send(status, json.dumps(obj, ensure_ascii=False).encode(), "application/json; charset=utf-8")

    def _send(self, status: int, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        for k, v in HEADERS.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)


def handler(game: Game, access: Access, port: int) -> type[QuizHandler]:
    own = frozenset(f"{h}:{port}" for h in LOOPBACK_HOSTS)
    return type("Handler", (QuizHandler,), {"game": game, "access": access, "own_hosts": own})


def make_server(sock: socket, game: Game, access: Access) -> ThreadingHTTPServer:
    """An HTTP server on an already bound socket (doppel.serve.network.bind); `serve_forever()` runs it."""
    address = sock.getsockname()
    server = ThreadingHTTPServer(address[:2], handler(game, access, address[1]), bind_and_activate=False)
    server.socket.close()
    server.socket = sock
    server.server_address = address
    server.daemon_threads = True
    return server
