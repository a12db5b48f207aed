"""Follow-up questions. With earlier turns, every question goes to the LLM, which
rewrites it to stand alone from the last few turns ("Who awarded it?" -> "Who awarded
OpenAI's Pentagon contract?") or gives it back as it is when it already does; no list
of words decides for it. Retrieval, reading and the checks run on the rewrite.

The rewrite only proposes: it must keep the user's words and may bring in names and
numbers only from the conversation (the user's questions and the checked answers
shown), so a planted instruction cannot change what is searched. A rewrite that fails
that check is not used: the question is read as the user wrote it, and retrieval looks
for it together with the last question searched, so the passages are on the
conversation's topic and the checks decide as for any question.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from langchain_core.language_models.llms import BaseLLM

from qa.answer.generator import load_prompt, prompt_prefix
from qa.guard import addresses_model
from qa.llm.ahead import AHEAD
from qa.models import Turn
from qa.terms import STOPWORDS, WH, WORD, content_terms, fold, words

MAX_TURNS = 3  # turns the rewrite reads; older ones rarely matter and cost prompt time
MAX_ANSWER_WORDS = 24
MAX_QUESTION_CHARS = 300
REWRITE_TOKENS = 48
NEW_WORDS = 2  # plain words a rewrite may add ("become", "part"); never a name or number
STOP = ["<|im_end|>", "<|endoftext|>", "\n"]

_REFERS = frozenset(
    "it its itself they them their theirs themselves he him his himself she her hers herself "
    "there these those such former latter".split()
)  # words a faithful rewrite may replace with what they stand for
_POINTING = frozenset("this that these those".split())
_NAME_OR_NUMBER = re.compile(r"^(\d|[A-Z])")


def recent(turns: Sequence[Turn]) -> list[Turn]:
    """The turns a rewrite reads: the last MAX_TURNS, answers cut to MAX_ANSWER_WORDS."""
    kept = []
    for turn in list(turns)[-MAX_TURNS:]:
        answer = " ".join(turn.answer.split()[:MAX_ANSWER_WORDS])
        kept.append(Turn(question=turn.question, standalone=turn.standalone, answer=answer))
    return kept


def conversation_text(turns: Sequence[Turn]) -> str:
    lines = []
    for turn in turns:
        lines.append(f"User: {' '.join(turn.searched.split())}")
        lines.append(f"Assistant: {turn.answer or 'not found in the documents'}")
    return "\n".join(lines)


def named_by_demonstrative(question: str) -> set[str]:
    """The nouns right after "this", "that", "these" or "those" ("that company"): the
    rewrite may put the name in their place ("When was Palantir founded?")."""
    found = words(question)
    return {
        term
        for before, word in itertools.pairwise(found)
        if before in _POINTING
        for term in content_terms(word)
    }


def faithful(rewrite: str, question: str, turns: Sequence[Turn]) -> bool:
    """Whether a rewrite asks what the user asked: still a question, it keeps the
    question's own terms, every name and number in it comes from the question or the
    turns, it adds at most NEW_WORDS other words, and it gives no orders."""
    if not rewrite or len(rewrite) > MAX_QUESTION_CHARS or addresses_model(rewrite):
        return False
    if question.rstrip().endswith("?") and not rewrite.endswith("?"):
        return False  # a statement ("Frank Burnet's suggestion inspired him.")
    if len(WH.findall(rewrite)) > max(1, len(WH.findall(question))):
        return False  # a second question ("Who awarded who won the World Cup?")
    said = " ".join([question, *(f"{t.question} {t.searched} {t.answer}" for t in turns)])
    known = content_terms(said)
    if not content_terms(question) - _REFERS - named_by_demonstrative(question) <= content_terms(
        rewrite
    ):
        return False
    known_words = set(words(said))
    added = 0
    for word in WORD.findall(rewrite):
        folded = fold(word)
        if folded in known_words or folded in STOPWORDS or content_terms(word) <= known:
            continue
        if _NAME_OR_NUMBER.match(word):
            return False
        added += 1
    return added <= NEW_WORDS


@dataclass(frozen=True)
class Followup:
    """What to read and what to search for, for a question asked after earlier turns,
    and the answers already shown, which an answer to a follow-up should not just repeat
    ("What will they prototype there?" is not answered "Washington, D.C." again)."""

    question: str
    search: str
    rewritten: bool = False
    shown: tuple[str, ...] = ()


def shown(turns: Sequence[Turn]) -> tuple[str, ...]:
    """The answers the turns showed (an abstention shows none)."""
    return tuple(turn.answer for turn in turns if turn.answer)


def unresolved(question: str, turns: Sequence[Turn]) -> Followup:
    """The question as written, searched for with the last question searched."""
    if not turns:
        return Followup(question, question)
    return Followup(question, f"{turns[-1].searched} {question}", shown=shown(turns))


class Rewriter:
    """Turns a follow-up into a question that stands alone (without an LLM, the
    extractive reader alone, it leaves it unresolved)."""

    def __init__(
        self, llm: BaseLLM | None, prompt_file: Path, reader_ahead: BaseLLM | None = None
    ) -> None:
        self.prompt = load_prompt(prompt_file)
        self.llm = llm
        self.reader_ahead = reader_ahead

    def prefix(self, turns: Sequence[Turn]) -> str:
        """The prompt up to the question: what the next follow-up's rewrite will share;
        without turns, up to the conversation: what every rewrite shares."""
        if not turns:
            return prompt_prefix(self.prompt, "conversation")
        return prompt_prefix(self.prompt, "question", conversation=conversation_text(recent(turns)))

    def prepare(self, history: Sequence[Turn]) -> threading.Thread | None:
        """After a turn, read the next rewrite's prompt up to the question ahead, in the
        background while the user types and before any other prompt waiting, so the
        follow-up pays only for its own words: only with ``reader_ahead``, a model that
        keeps the prompt in a slot of its own (the in-process one). The instructions and
        worked examples every rewrite shares are read as the chat starts
        (``Pipeline.prepare``)."""
        if self.reader_ahead is None or not history:
            return None
        return AHEAD.read(self.reader_ahead, self.prefix(history), first=True)

    def render(self, question: str, turns: Sequence[Turn]) -> str:
        question = " ".join(question.split())
        return self.prompt.format(conversation=conversation_text(turns), question=question)

    def followup(self, question: str, history: Sequence[Turn]) -> Followup:
        """The question itself when there is no history or the model gives it back as
        it is (it stands alone); else the model's rewrite when it is faithful; else
        unresolved."""
        turns = recent(history)
        if not turns:
            return Followup(question, question)
        if self.llm is None:
            return unresolved(question, turns)
        reply = " ".join(self.llm.invoke(self.render(question, turns), stop=STOP).split())
        rewrite = reply.strip("\"'“”")
        if rewrite and rewrite[-1] not in ".!?":
            rewrite += "?"
        if rewrite and not content_terms(rewrite) - content_terms(question):
            return Followup(question, question)  # nothing filled in: it stands alone
        if faithful(rewrite, question, turns):
            return Followup(rewrite, rewrite, rewritten=True, shown=shown(turns))
        return unresolved(question, turns)
