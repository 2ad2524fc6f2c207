"""The quiz page in a real browser: Debian's headless Chromium (/usr/bin/chromium; nothing is downloaded at run
time) driven by Playwright, on `doppel quiz` itself (a subprocess with the tiny twin). A player names
themself, plays every round with one click or one key each (on a phone-sized screen), and the picks and the
report say what they did."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from support.quiz import Quiz, cli, quiz_files

CHROMIUM = Path("/usr/bin/chromium")
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[dev]')")
if not CHROMIUM.exists():
    pytest.skip(f"Debian's chromium is not installed ({CHROMIUM}): apt-get install chromium", allow_module_level=True)

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
SCREENSHOT_ENV = "DOPPEL_QUIZ_SCREENSHOT"   # a path: also save the desktop screenshot there (docs/quiz.png)


@pytest.fixture(scope="module")
def files(tmp_path_factory, tiny_twin):
    return quiz_files(tmp_path_factory.mktemp("quiz_page"), *tiny_twin)


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield b
        b.close()


def results(root: Path) -> list[dict]:
    path = root / "results.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_a_player_clicks_through_every_round_and_the_report_counts_the_picks(files, browser, tmp_path):
    ck, _, params, root = files
    quiz = Quiz(["--params", str(params), "--base", str(ck)])
    try:
        context = browser.new_context(**PHONE)
        page = context.new_page()
        page.goto(quiz.url)
        page.get_by_placeholder("Your name").fill("ann")
        page.keyboard.press("Enter")
        expect = sync_api.expect
        expect(page.locator("#progress")).to_have_text("Round 1 of 3 · playing as ann")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")   # no sideways scroll
        assert page.locator("#pick1").bounding_box()["height"] >= 44   # a thumb-sized target
        shown = [page.locator(f"#pick{i} .text").inner_text() for i in (1, 2)]
        assert all(shown) and page.locator("#context .turn").count() >= 1

        page.keyboard.press("2")                              # one key, straight after the name: the pick
        expect(page.locator("#progress")).to_have_text("Round 2 of 3 · playing as ann")
        first = results(root)[0]
        expect(page.locator("#verdict")).to_have_text(
            "Round 1: right, reply 2 was the real one." if first["real"] == 2
            else "Round 1: fooled, that was the twin; reply 1 was the real one.")
        page.locator("#pick1").tap()                          # one tap: the pick, and the next round is up
        expect(page.locator("#progress")).to_have_text("Round 3 of 3 · playing as ann")
        page.keyboard.press("0")
        expect(page.locator("#verdict")).to_have_text(re.compile(r"Round 3: reply [12] was the real one\."))
        expect(page.locator("#summary")).to_contain_text("All 3 rounds played.")
        assert page.locator("#round").is_hidden()

        picks = results(root)
        assert [(p["pick"], p["player"]) for p in picks] == [(2, "ann"), (1, "ann"), (0, "ann")]
        expect(page.locator("#verdict")).to_have_text(f"Round 3: reply {picks[2]['real']} was the real one.")
        assert set(picks[0]) == {"round", "real", "pick", "player", "time"}
        fooled = sum(p["pick"] not in (0, p["real"]) for p in picks)
        expect(page.locator("#summary")).to_have_text(
            f"All 3 rounds played. You picked the twin's reply as real {fooled} time(s), the real one "
            f"{2 - fooled}, can't tell 1.")
        page.reload()                                           # the name is remembered; nothing left to play
        expect(page.locator("#summary")).to_contain_text("All 3 rounds played.")

        desktop = browser.new_context(viewport={"width": 760, "height": 640})
        other = desktop.new_page()
        other.goto(quiz.url)
        other.get_by_placeholder("Your name").fill("bob")
        other.keyboard.press("Enter")
        expect(other.locator("#progress")).to_have_text("Round 1 of 3 · playing as bob")
        other.keyboard.press("1")                             # the name's input no longer takes the keys
        expect(other.locator("#progress")).to_have_text("Round 2 of 3 · playing as bob")
        other.screenshot(path=str(tmp_path / "quiz.png"), full_page=True)
        if os.environ.get(SCREENSHOT_ENV):
            other.screenshot(path=os.environ[SCREENSHOT_ENV], full_page=True)
    finally:
        assert quiz.stop() == 0
    report = cli("--params", str(params), "--report")
    assert report.returncode == 0, report.stderr
    assert "quiz: 4 rounds; the twin fooled the players" in report.stdout      # ann's 3 and bob's 1
    ann = json.loads((root / "report.json").read_text())["players"]["ann"]
    assert (ann["rounds"], ann["fooled"], ann["unsure"], ann["fooled_rate"]) == (3, fooled, 1,
                                                                               round((fooled + 0.5) / 3, 4))
    assert [line.split()[:2] for line in report.stdout.splitlines() if line.strip().startswith("ann")] == [["ann", "3"]]
    (root / "results.jsonl").unlink()
