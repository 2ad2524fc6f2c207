"""The twin's progress line while `doppel quiz` generates its replies."""
from __future__ import annotations

import io

from doppel.quiz.twin import printer


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_rewrites_one_line_on_a_terminal():
    out = Terminal()
    show = printer(out)
    for done in (1, 2, 3):
        show(done, 3)
    assert out.getvalue() == ("\rdoppel quiz: the twin replies 1/3\rdoppel quiz: the twin replies 2/3"
                              "\rdoppel quiz: the twin replies 3/3\n")


def test_progress_into_a_log_is_the_last_count_alone():
    """Redirected (`doppel quiz 2> quiz.log`): every count glued into one line with \\r before; now one line."""
    out = io.StringIO()
    show = printer(out)
    for done in (1, 2, 3):
        show(done, 3)
    assert out.getvalue() == "doppel quiz: the twin replies 3/3\n"
