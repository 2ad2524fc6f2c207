"""doppel.chat: one-shot and interactive conversation with the twin, errors as one line."""
from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from support import twin as F
from doppel.chat import command as chat
from doppel.model.conversation import Conversation
from doppel.errors import InputError

REPO = Path(__file__).resolve().parents[2]


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def setup(tmp_path_factory, tiny_twin):
    ck, ad = tiny_twin
    params = F.write_params(tmp_path_factory.mktemp("chat") / "params.yaml",
                            chat={"max_new_tokens": 12, "temperature": 0.9, "top_k": 40, "top_p": 0.95, "seed": 3})
    return ck, ad, params


def args(setup, *extra: str) -> list[str]:
    ck, ad, params = setup
    return ["--base", str(ck), "--adapter", str(ad), "--params", str(params), *extra]


def in_process(setup, stdin: str, *extra: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = chat.main(args(setup, *extra), stdin=io.StringIO(stdin), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def cli(argv: list[str], stdin: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "doppel.cli", "chat", *argv], input=stdin, capture_output=True,
                          text=True, cwd=REPO, env=env, timeout=120)


def test_one_shot_prints_a_reply(setup):
    proc = cli(args(setup, "--message", "hi"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() and proc.stdout.endswith("\n")
    _, same, _ = in_process(setup, "", "--message", "hi")
    assert proc.stdout == same  # seeded (params chat.seed): the same reply in or out of process
    _, other, _ = in_process(setup, "", "--message", "hi", "--seed", "4")
    assert other != same  # --seed overrides the params


def test_interactive_reset_quit_and_eof(setup):
    _, hi, _ = in_process(setup, "", "--message", "hi")
    _, hello, _ = in_process(setup, "", "--message", "hello")
    # /reset forgets the conversation: "hello" afterwards gets the same reply as a fresh one-shot
    code, out, err = in_process(setup, "hi\n\n/reset\nhello\n/quit\nnever read\n")
    assert code == 0 and out == hi + "\n" + hello + "\n" and "reset" in err  # piped: an empty line ends a reply
    # without /reset the context (and the reply counter) carries on
    _, carried, _ = in_process(setup, "hi\nhello\n")
    assert carried.startswith(hi + "\n") and carried != hi + "\n" + hello + "\n"
    # EOF ends the chat like /quit, also through the real command line
    proc = cli(args(setup), stdin="hi\n/reset\nhello\n")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == hi + "\n" + hello + "\n"


@pytest.mark.parametrize("message", ["", " ", "\t\n", "\u00a0"])
def test_an_empty_message_is_one_line_and_exit_2(setup, message):
    proc = cli(args(setup, "--message", message))
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and proc.stdout == "", proc.stderr
    assert lines == ["doppel chat: error: --message: is empty: give the text the twin should reply to"]


def test_piped_lines_starting_with_a_slash_are_commands_never_messages(setup):
    import json

    _, alone, _ = in_process(setup, "hi\nпривет\n")
    code, out, err = in_process(setup, "hi\n/foo\n/Foo bar\nпривет\n")
    assert code == 0 and out == alone and out.count("\n\n") == 2  # two replies, each ended by an empty line
    assert err.count("unknown command /foo") == 2 and "/help" in err
    code, out, err = in_process(setup, "hi\n/foo\n//slash\n\u043f\u0440\u0438\u0432\u0435\u0442\n/quit\nlast\n",
                                "--jsonl")
    records = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [r["message"] for r in records] == ["hi", "/slash", "привет"]  # // escapes a slash
    assert records[0]["reply"] + "\n" == in_process(setup, "", "--message", "hi")[1]
    assert all(set(r) == {"message", "reply"} for r in records)
    assert "empty line" not in err
    # empty lines get no record, and their count is said (once silently dropped: a line count that did not match)
    code, blank_out, err = in_process(setup, "hi\n\n  \n/foo\n//slash\nпривет\n\n", "--jsonl")
    assert code == 0 and blank_out == out and err.splitlines()[-1] == (
        "(skipped 3 empty lines: an empty message gets no reply)")
    code, _, err = in_process(setup, "\n/quit\n", "--jsonl")
    assert code == 0 and err.splitlines()[-1] == "(skipped 1 empty line: an empty message gets no reply)"
    code, out, _ = in_process(setup, "", "--message", "hi", "--jsonl")
    assert code == 0 and json.loads(out) == records[0] and out.count("\n") == 1


def test_ctrl_c_mid_reply_keeps_what_was_said_and_moves_the_seed_on(setup):
    """A reply cut by Ctrl-C: the part streamed so far stays in the conversation as the owner's turn, and the
    next reply uses the next seed (as if the cut reply had ended)."""
    from doppel.model.load import load

    ck, ad, _ = setup
    twin = load(ck, ad, device="cpu")
    hot = dict(max_new_tokens=12, temperature=0.9, top_k=40, top_p=0.95)
    conv = Conversation(twin, F.SYSTEM, F.sampling(seed=5, **hot), 10_000)
    pieces = list(twin.stream(twin.prompt_for(F.render_context([(False, "hi")], F.SYSTEM)), F.sampling(seed=5, **hot)))
    assert len(pieces) >= 2

    def cut(piece: str) -> None:
        if cut.seen == 1:
            raise KeyboardInterrupt
        cut.seen += 1
    cut.seen = 0
    with pytest.raises(KeyboardInterrupt):
        conv.say("hi", cut)
    assert conv.turns == [(False, "hi"), (True, "".join(pieces[:2]))] and conv.replies == 1
    prompt = twin.prompt_for(F.render_context([*conv.turns, (False, "and?")], F.SYSTEM))
    want = twin.generate(prompt, F.sampling(seed=6, **hot))
    assert want != twin.generate(prompt, F.sampling(seed=5, **hot))  # the seed shows in the reply
    assert conv.say("and?") == want and conv.replies == 2


def test_context_is_trimmed_from_the_oldest_turn(setup):
    from doppel.model.load import load

    ck, ad, _ = setup
    conv = Conversation(load(ck, ad, device="cpu"), F.SYSTEM, F.sampling(max_new_tokens=16, seed=1), 10_000)
    for i in range(40):
        conv.say(f"Message number {i} about coffee and movies tonight")
    prompt = conv.prompt()
    _, keep = conv.twin.budget(16)
    assert conv.twin.count_tokens(prompt) <= keep
    assert prompt.startswith(F.SYSTEM) and "Message number 39" in prompt and "Message number 0 " not in prompt
    assert prompt.endswith("\nMe:")


def test_context_budget_param_keeps_the_conversation_as_short_as_in_training(setup):
    from doppel.model.load import load

    ck, ad, _ = setup
    conv = Conversation(load(ck, ad, device="cpu"), F.SYSTEM, F.sampling(max_new_tokens=4, seed=1),
                        context_tokens=80)
    for i in range(6):
        conv.say(f"Message number {i} about coffee and movies tonight")
    prompt = conv.prompt()
    assert conv.twin.count_tokens(prompt) <= 80 and "Message number 5" in prompt
    assert "Message number 0 " not in prompt


def test_sampling_knobs_reach_the_sampler(setup, monkeypatch):
    """chat's params (top_k 40, top_p 0.95, temperature 0.9) and the flags that override them are what every
    next-token draw uses; top_k 0 means no top-k filter."""
    from doppel.model import twin as twin_module

    seen = set()
    real = twin_module.sample_next

    def spy(logits, temperature, top_k, top_p, generator):
        seen.add((temperature, top_k, top_p))
        return real(logits, temperature, top_k, top_p, generator)

    monkeypatch.setattr(twin_module, "sample_next", spy)
    for flags, expected in [((), (0.9, 40, 0.95)), (("--top-k", "3", "--top-p", "0.5"), (0.9, 3, 0.5)),
                            (("--temperature", "0.7", "--top-k", "0"), (0.7, None, 0.95))]:
        seen.clear()
        code, _, _ = in_process(setup, "", "--message", "hi", *flags)
        assert code == 0 and seen == {expected}


def test_missing_adapter_exits_2_with_one_line(setup, tmp_path):
    ck, _, params = setup
    proc = cli(["--base", str(ck), "--adapter", str(tmp_path / "nope"), "--params", str(params),
                "--message", "hi"])
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("doppel chat: error:") and "dvc pull" in lines[0]
    with pytest.raises(InputError, match="base checkpoint"):
        chat.main(["--base", str(tmp_path / "no_base"), "--no-adapter", "--message", "hi"])


def test_context_tokens_null_falls_back_to_the_build_budget(setup, tmp_path, monkeypatch):
    ck, ad, params = setup
    captured = {}

    class Spy(chat.Conversation):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            captured["context_tokens"] = self.context_tokens
            captured["system"] = self.system

    monkeypatch.setattr(chat, "Conversation", Spy)
    values = yaml.safe_load(params.read_text())
    values["build"]["context_tokens"] = 77
    for context, expected in [(None, 77), (50, 50)]:
        values["chat"]["context_tokens"] = context
        (tmp_path / "params.yaml").write_text(yaml.safe_dump(values, allow_unicode=True))
        code = chat.main(["--base", str(ck), "--adapter", str(ad), "--params", str(tmp_path / "params.yaml"),
                          "--message", "hi"], stdout=io.StringIO(), stderr=io.StringIO())
        assert code == 0 and captured == {"context_tokens": expected, "system": F.SYSTEM}


def test_bad_flags_and_missing_params_are_one_line(setup, tmp_path):
    ck, ad, params = setup
    bad = [(["--device", "gpu0"], "not a device"), (["--top-p", "2"], "chat.top_p"),
           (["--precision", "64-true"], "chat.precision")]
    if not torch.cuda.is_available():
        bad.append((["--device", "cuda"], "no cuda device on this machine"))
    for extra, needle in bad:
        proc = cli(args(setup, "--message", "hi", *extra))
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 2 and len(lines) == 1 and needle in lines[0], proc.stderr
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "doppel.cli", "chat", "--base", str(ck), "--message", "hi"],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert proc.returncode == 2 and "run doppel from the project root" in proc.stderr


def memory_table(path: Path) -> Path:
    """Two chats' memories (chat ids one apart): the dog's name said in 777 only."""
    import polars as pl
    from datetime import datetime, timezone

    pl.DataFrame({"chat_id": [777, 778], "session_id": [0, 0], "turn_index": [1, 1],
                  "ts": [datetime(2024, 1, 1, tzinfo=timezone.utc)] * 2,
                  "answered": ["how is the dog?", ""], "text": ["Rex is fine, he ate a sock", "moved to Porto"]}
                 ).with_columns(pl.col("ts").dt.cast_time_unit("us")).write_parquet(path)
    return path


def test_memory_block_goes_after_the_system_line_within_the_budget(setup, tmp_path):
    from doppel.memory.recall import Recall
    from doppel.memory.store import Memory
    from doppel.model.load import load
    from conftest import cfg

    ck, ad, _ = setup
    twin = load(ck, ad, device="cpu")
    said = [(False, f"Message number {i} about the dog tonight") for i in range(6)]

    def conversation(budget: int, recall=None) -> Conversation:
        conv = Conversation(twin, F.SYSTEM, F.sampling(max_new_tokens=4, seed=1), context_tokens=budget, recall=recall)
        conv.turns = list(said)
        return conv

    recall = Recall(Memory.load(memory_table(tmp_path / "m.parquet")), cfg("memory", scope="chat"), 777)
    conv = conversation(160, recall)
    prompt = conv.prompt()
    header = F.SYSTEM + "\nThings Me said before:\n- (Them: how is the dog?) Me: Rex is fine, he ate a sock\n"
    assert prompt.startswith(header) and "Porto" not in prompt        # chat 778's memory: another chat
    assert twin.count_tokens(prompt) <= 160 and "Message number 5" in prompt
    plain = conversation(160)
    plain.prompt()
    assert len(conv.turns) < len(plain.turns)                         # the block's tokens came out of the budget
    # a budget where the block and the latest message do not both fit: no block, the message stays
    tight = conversation(twin.count_tokens(header) + 2, recall)
    prompt = tight.prompt()
    assert "Things Me said before" not in prompt and "Message number 5" in prompt


def test_show_memory_prints_what_was_retrieved_and_scope_needs_a_chat(setup, tmp_path):
    table = memory_table(tmp_path / "m.parquet")
    code, out, err = in_process(setup, "", "--message", "how is the dog?", "--chat", "777", "--show-memory",
                                "--memory-table", str(table))
    assert code == 0 and out.strip()
    assert "(memory: 1 retrieved)" in err and "[chat 777 2024-01-01 score" in err and "Rex is fine" in err
    code, _, err = in_process(setup, "", "--message", "how is the dog?", "--chat", "778", "--show-memory",
                              "--memory-table", str(table))
    assert code == 0 and "(memory: nothing retrieved)" in err and "Rex" not in err
    code, _, err = in_process(setup, "", "--message", "how is the dog?", "--chat", "779", "--show-memory",
                              "--memory-table", str(table))   # no such chat: said, not "nothing retrieved"
    assert code == 0 and "(memory: chat 779 has no memories in " in err and "retrieved" not in err
    code, _, err = in_process(setup, "", "--message", "how is the dog?", "--show-memory", "--memory-table", str(table))
    assert code == 0 and "give --chat ID" in err and "retrieved" not in err
    code, _, err = in_process(setup, "", "--message", "dog", "--chat", "777", "--memory-table", str(tmp_path / "no"))
    assert code == 0 and "no table at" in err
