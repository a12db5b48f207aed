"""The support check: does the cited sentence say that the chosen phrase answers the
question as asked? The LLM reads only that sentence and the title of its document
(its file name), the question and the phrase (``prompts/check.txt``), and code reads
its first-token probability of "Yes".

The title tells what "it" and "the song" stand for: shown the sentence alone, the
model said No to many right answers about a Wikipedia article's subject ("Who sang the
theme song from Russia with Love?" against "The song was sung by Matt Monro").

Asked from a whole passage, the model finds an answer to nearly every question that
looks answerable; shown one sentence and worked examples where a detail of the question
differs ("the museum" against "the library", "critic" against "championed"), it says No
to many of them. The probability is one more signal for the abstention model, and is
asked only when it could change the decision (``abstention.Logistic.undecided``) and the
model fitted without it is not sure (``abstention.Logistic.sure``).
"""

from __future__ import annotations

from pathlib import Path

from langchain_core.language_models.llms import BaseLLM

from qa.answer.generator import load_prompt, prompt_prefix
from qa.answer.yes_no import first_alternatives, first_token_probability
from qa.models import Evidence

CHECK_TOKENS = 1


def title(source: str) -> str:
    """A document's title as its file name says it: "Jason_Gideon.txt" is "Jason Gideon"."""
    return Path(source).stem.replace("_", " ")


class SupportCheck:
    """Asks the LLM whether one sentence shows that a phrase answers a question."""

    def __init__(self, llm: BaseLLM, prompt_file: Path) -> None:
        self.prompt = load_prompt(prompt_file)
        self.llm = llm

    def prefix(self) -> str:
        """The prompt up to the title: the instructions and worked examples every check
        shares."""
        return prompt_prefix(self.prompt, "title")

    def __call__(self, question: str, sentence: Evidence, answer: str) -> float | None:
        """The probability of "Yes"; None when the backend gives no alternatives."""
        prompt = self.prompt.format(
            title=" ".join(title(sentence.source).split()),
            sentence=" ".join(sentence.text.split()),
            question=" ".join(question.split()),
            answer=" ".join(answer.split()),
        )
        first = first_alternatives(self.llm, prompt)
        return None if first is None else first_token_probability(first, "yes")
