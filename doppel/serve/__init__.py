"""`doppel serve`: the twin behind an OpenAI-compatible HTTP API on 127.0.0.1.

protocol.py holds the request and response shapes (OpenAI's), engine.py the one loaded model and the queue
that feeds it, app.py the FastAPI routes, command.py the command line (bind, load, run uvicorn).
"""
