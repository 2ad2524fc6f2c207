"""Errors a user can fix: printed as one line naming the file, exit code 2, never a traceback."""
from __future__ import annotations


class InputError(Exception):
    """Bad input: `str(err)` is the one-line message shown to the user."""

    def __init__(self, path, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")
