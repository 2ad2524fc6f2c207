"""The HTTP side of `doppel serve`: FastAPI routes over the engine, in OpenAI's shapes.

    GET  /health                 liveness and queue length (no key needed; says nothing private)
    GET  /v1/models              the one model, by its configured name
    POST /v1/chat/completions    a reply; `"stream": true` sends server-sent events ending in `data: [DONE]`

Every error, a bad request or a crash, is OpenAI's JSON error object with a 4xx/5xx status, never a
traceback. With an API key set, /v1 routes want `Authorization: Bearer KEY`.
"""
from __future__ import annotations

import asyncio
import hmac
import sys
import traceback
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import AsyncIterator

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from doppel.serve import protocol as P
from doppel.serve.engine import Engine, Job

@dataclass(frozen=True)
class Settings:
    name: str
    api_key: str | None
    max_body_bytes: int
    created: int


def create_app(engine: Engine, settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        await run_in_threadpool(engine.close)

    app = FastAPI(title="doppel serve", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    _error_handlers(app)

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok", "model": settings.name, "waiting": engine.waiting, "running": engine.running}

    @app.get("/v1/models")
    async def models(request: Request) -> dict:
        _check_key(request, settings)
        return P.ModelList(data=[P.ModelCard(id=settings.name, created=settings.created)]).model_dump()

    @app.get("/v1/models/{model}")
    async def model(model: str, request: Request) -> dict:
        _check_key(request, settings)
        _check_model(model, settings, param=None)
        return P.ModelCard(id=settings.name, created=settings.created).model_dump()

    @app.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Response:
        _check_key(request, settings)
        req = P.parse_request(await _body(request, settings.max_body_bytes))
        _check_model(req.model, settings)
        loop, events = asyncio.get_running_loop(), asyncio.Queue()
        job = await run_in_threadpool(engine.job, req, _emitter(loop, events))
        engine.submit(job)
        meta = (P.completion_id(), P.now(), settings.name)
        if req.stream:
            include_usage = bool(req.stream_options and req.stream_options.include_usage)
            return EventStream(job, _chunks(events, meta, include_usage), media_type="text/event-stream",
                               headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        try:
            return await _completion(request, job, events, meta)
        finally:
            job.cancel()  # a no-op once it has ended; frees the slot if the client left first

    return app


class EventStream(StreamingResponse):
    """The SSE response; however it ends (done, client gone, error), its job is cancelled (a no-op if done)."""

    def __init__(self, job: Job, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.job = job

    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.job.cancel()


def _emitter(loop: asyncio.AbstractEventLoop, events: asyncio.Queue):
    def emit(event: tuple) -> None:  # from the engine's thread
        try:
            loop.call_soon_threadsafe(events.put_nowait, event)
        except RuntimeError:  # the loop is closed: the server is gone
            pass
    return emit


async def _completion(request: Request, job: Job, events: asyncio.Queue, meta: tuple) -> Response:
    watcher = asyncio.create_task(_watch_disconnect(request, job, events))
    try:
        return await _collect(events, meta)
    finally:
        watcher.cancel()


async def _watch_disconnect(request: Request, job: Job, events: asyncio.Queue) -> None:
    """The body is read: the next ASGI message is the client leaving. Then cancel the job and stop waiting."""
    while (await request.receive())["type"] != "http.disconnect":
        pass
    job.cancel()
    events.put_nowait(("gone",))


async def _collect(events: asyncio.Queue, meta: tuple) -> Response:
    cid, created, name = meta
    pieces: list[str] = []
    while True:
        event = await events.get()
        if event[0] == "gone":
            return Response(status_code=499)  # nobody reads it
        if event[0] == "delta":
            pieces.append(event[1])
        elif event[0] == "error":
            raise P.APIError(500, event[1], kind="server_error")
        else:
            _, reason, prompt_tokens, completion_tokens = event
            body = P.ChatCompletion(
                id=cid, created=created, model=name, usage=P.usage(prompt_tokens, completion_tokens),
                choices=[P.Choice(message=P.ReplyMessage(content="".join(pieces)), finish_reason=reason)])
            return JSONResponse(body.model_dump())


async def _chunks(events: asyncio.Queue, meta: tuple, include_usage: bool) -> AsyncIterator[bytes]:
    cid, created, name = meta

    def chunk(delta: P.Delta, reason: str | None = None) -> bytes:
        return P.sse(P.ChatCompletionChunk(id=cid, created=created, model=name,
                                           choices=[P.ChunkChoice(delta=delta, finish_reason=reason)]))

    yield chunk(P.Delta(role="assistant", content=""))
    while True:
        event = await events.get()
        if event[0] == "delta":
            yield chunk(P.Delta(content=event[1]))
        elif event[0] == "error":
            yield P.sse(P.APIError(500, event[1], kind="server_error").body())
            break
        else:
            _, reason, prompt_tokens, completion_tokens = event
            yield chunk(P.Delta(), reason)
            if include_usage:
                yield P.sse(P.ChatCompletionChunk(id=cid, created=created, model=name, choices=[],
                                                  usage=P.usage(prompt_tokens, completion_tokens)))
            break
    yield P.sse("[DONE]")


async def _body(request: Request, limit: int) -> bytes:
    """The request body, refused (413) past `limit` bytes, whether or not Content-Length says so."""
    declared = request.headers.get("content-length", "")
    too_big = P.APIError(413, f"The request body is too large: this server takes at most {limit} bytes.",
                         code="request_too_large")
    if declared.isdigit() and int(declared) > limit:
        raise too_big
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_big
        chunks.append(chunk)
    return b"".join(chunks)


def _check_key(request: Request, settings: Settings) -> None:
    if settings.api_key is None:
        return
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise P.APIError(401, "You didn't provide an API key: send it as `Authorization: Bearer KEY`.",
                         code="invalid_api_key")
    if not hmac.compare_digest(token.encode(), settings.api_key.encode()):  # exactly the key, nothing trimmed
        raise P.APIError(401, "Incorrect API key provided.", code="invalid_api_key")


def _check_model(model: str, settings: Settings, param: str | None = "model") -> None:
    if model != settings.name:
        raise P.APIError(404, f"The model '{model}' does not exist; this server has '{settings.name}'.",
                         param=param, code="model_not_found")


def _error_handlers(app: FastAPI) -> None:
    @app.exception_handler(P.APIError)
    async def api_error(request: Request, err: P.APIError) -> JSONResponse:
        return JSONResponse(err.body(), status_code=err.status)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, err: StarletteHTTPException) -> JSONResponse:
        message = (f"Unknown request URL: {request.method} {request.url.path}." if err.status_code == 404
                   else str(err.detail))
        return JSONResponse(P.APIError(err.status_code, message).body(), status_code=err.status_code,
                            headers=getattr(err, "headers", None))

    @app.exception_handler(Exception)
    async def crash(request: Request, err: Exception) -> JSONResponse:
        traceback.print_exception(err, file=sys.stderr)
        return JSONResponse(P.APIError(500, "The server had an error while processing your request.",
                                       kind="server_error").body(), status_code=500)
