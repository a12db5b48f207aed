"""Yes/no questions. The LLM judges one sentence, the evidence sentence that best
matches the question, with ``prompts/yes-no.txt``: Yes, No or UNKNOWN. Code takes its
verdict only when the model gave it a clear probability, and cites that sentence.

Asked to answer from a whole passage, the 1.5B model says "Yes" to nearly every yes/no
question, the unanswerable ones too; asked about one sentence, with a worked "No", its
first-token probabilities separate (bench/yes-no.jsonl). It leans towards "Yes", so a
"Yes" needs more than a "No".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from langchain_core.language_models.llms import BaseLLM

from qa.answer.generator import load_prompt, prompt_prefix
from qa.models import Evidence
from qa.terms import content_terms, coverage

YES_AT = 0.70  # on bench/yes-no.jsonl no wrong "Yes" reached 0.60, and 7 of 8 right ones 0.90
NO_AT = 0.55  # no "No" to an unanswerable question reached 0.47; both right ones 0.57
JUDGE_TOKENS = 3
STOP = ["<|im_end|>", "<|endoftext|>", "\n"]


@dataclass(frozen=True)
class Judged:
    """The model's first-token probabilities of "Yes" and "No" for one sentence (None
    when the backend gives no alternatives: then nothing is answered)."""

    sentence: Evidence
    yes: float | None
    no: float | None

    @property
    def verdict(self) -> str | None:
        """ "Yes" or "No" when its probability reaches its bar, else None."""
        if self.yes is not None and self.yes >= YES_AT:
            return "Yes"
        if self.no is not None and self.no >= NO_AT:
            return "No"
        return None

    @property
    def probability(self) -> float:
        """The verdict's probability, or the larger of the two when there is none."""
        yes, no = self.yes or 0.0, self.no or 0.0
        return {"Yes": yes, "No": no}.get(self.verdict or "", max(yes, no))


def supporting(question: str, sentences: list[Evidence]) -> Evidence | None:
    """The sentence most like the question: cosine similarity (set by the retriever)
    plus the share of the question's terms it holds."""
    terms = content_terms(question)
    return max(sentences, key=lambda s: s.similarity + coverage(terms, s.text), default=None)


def first_token_probability(alternatives: dict[str, float], word: str) -> float:
    """The probability the model gave to starting its reply with ``word``."""
    return min(1.0, sum(math.exp(p) for t, p in alternatives.items() if t.strip().lower() == word))


def first_alternatives(llm: BaseLLM, prompt: str) -> dict[str, float] | None:
    """The likeliest first tokens of the reply to the prompt, with their log-probabilities
    (None when the backend gives none)."""
    generation = llm.generate([prompt], stop=STOP).generations[0][0]
    alternatives = (generation.generation_info or {}).get("alternatives") or []
    return alternatives[0] if alternatives and alternatives[0] else None


class Judge:
    """Asks the LLM whether one sentence says yes or no to a question."""

    def __init__(self, llm: BaseLLM, prompt_file: Path) -> None:
        self.prompt = load_prompt(prompt_file)
        self.llm = llm

    def prefix(self) -> str:
        """The instructions and worked examples every verdict shares."""
        return prompt_prefix(self.prompt, "sentence")

    def judge(self, question: str, sentence: Evidence) -> Judged:
        prompt = self.prompt.format(
            sentence=" ".join(sentence.text.split()), question=" ".join(question.split())
        )
        first = first_alternatives(self.llm, prompt)
        if first is None:
            return Judged(sentence, None, None)
        return Judged(
            sentence, first_token_probability(first, "yes"), first_token_probability(first, "no")
        )
