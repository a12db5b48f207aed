"""Follow-up questions. A question that leans on earlier turns ("Who awarded it?",
"And Microsoft?") is rewritten by the LLM into one that stands alone, from the last
few turns, and retrieval, reading and the checks run on that; a question that already
stands alone is left as it is, decided by its words before any model runs.

The rewrite only proposes: it must keep the user's words and may bring in names and
numbers only from the conversation (the user's questions and the checked answers
shown), so a planted instruction cannot change what is searched. A rewrite that fails
that check (or that resolves nothing) is not used: the question is read as the user
wrote it, and retrieval looks for it together with the last question searched, so the
passages are on the conversation's topic and the checks decide as for any question.
"""

from __future__ import annotations

import itertools
import re
import string
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from langchain_core.language_models.llms import BaseLLM

from qa.ahead import AHEAD
from qa.completion import Alternatives
from qa.generator import load_prompt
from qa.guard import addresses_model
from qa.models import Answer, Turn
from qa.terms import STOPWORDS, WH, WORD, content_terms, fold, stem, words

if TYPE_CHECKING:
    from qa.pipeline import Pipeline, TokenSink
    from qa.store import Warn

MAX_TURNS = 3  # turns the rewrite reads; older ones rarely matter and cost prompt time
MAX_ANSWER_WORDS = 24
MAX_QUESTION_CHARS = 300
REWRITE_TOKENS = 48
NEW_WORDS = 2  # plain words a rewrite may add ("become", "part"); never a name or number
STOP = ["<|im_end|>", "<|endoftext|>", "\n"]
_MARK = "\x00"  # where the question goes, to cut the prompt before it

_REFERS = frozenset(
    "it its itself they them their theirs themselves he him his himself she her hers herself "
    "there these those such former latter".split()
)
_DEMONSTRATIVE = frozenset("this that".split())
_POINTING = _DEMONSTRATIVE | {"these", "those"}
_BACK = _REFERS | _POINTING  # the words a rewrite begins before ("it", "that")
_OPENS_ELLIPSIS = re.compile(
    r"^\s*(and|also|but|so|then|what about|how about|what else|who else|which one|and what)\b",
    re.IGNORECASE,
)
_CONJUNCTION = re.compile(r"^\s*(?:and|also|but|so|then)\b\s*,?\s*", re.IGNORECASE)
_AFTER_WH_OR_PREPOSITION = frozenset(
    "what which who when where why how is was are were does did do for about of in on to "
    "with from by at after before during".split()
)
_NEW_TOPIC = re.compile(
    r"^\s*(?:and|what about|how about)\s+(?:the\s+)?(?P<topic>[^?]+?)\s*\?*\s*$", re.IGNORECASE
)
_NAME_OR_NUMBER = re.compile(r"^(\d|[A-Z])")
# A question whose answer is a set: "Who are OpenAI's new compute partners?", "Which
# other AI companies are expanding into government AI work?".
_ASKS_FOR_A_SET = re.compile(
    r"^\s*(?:(?P<copula>who|what)\s+|(?:which|what)\s+(?:[\w'’-]+\s+){1,4}?)"
    r"(?P<verb>are|were|have)\s+(?P<rest>[^?]+?)\s*\?*\s*$",
    re.IGNORECASE,
)
_SINGULAR = {"are": "Is", "were": "Was", "have": "Has"}


def leans_on_history(question: str) -> bool:
    """Whether the question needs earlier turns to be understood: it opens like a
    follow-up ("And ...?", "What about ...?"), refers back ("it", "his", "there",
    "that company"), or is too short to stand alone ("Why?", "In what year?")."""
    if _OPENS_ELLIPSIS.match(question):
        return True
    found = words(question)
    if any(w in _REFERS for w in found):
        return True
    for before, word in zip(["", *found], found, strict=False):
        if word in _DEMONSTRATIVE and (not before or before in _AFTER_WH_OR_PREPOSITION):
            return True
    return len(content_terms(question)) < 2


def opening(question: str) -> str:
    """The question's words before the first that refers back ("What country was" of
    "What country was he from?"): the rewrite starts with them, so it stays the user's
    question and the model writes only the rest; a short one ("In what year?") is
    begun with all of it. "And" before a question word is left out ("Who bought" of
    "And who bought it after them?"), and kept when other words come first ("And
    before" of "And before that, from 1990, who elected them?"); empty after "What
    about", "And Manchuria?" and the like, whose rewrite is worded afresh."""
    conjunction = _CONJUNCTION.match(question)
    if conjunction:
        rest = question[conjunction.end() :]
        if WH.match(rest):
            return opening(rest[:1].upper() + rest[1:])
        if not WH.search(rest):
            return ""
    elif _OPENS_ELLIPSIS.match(question):
        return ""
    for found in WORD.finditer(question):
        if fold(found.group()) in _BACK:
            return question[: found.start()].rstrip()
    return question.rstrip(" ?")


def rejoin(question: str) -> tuple[str, str]:
    """Where the model's rewrite meets the user's words again, and those words: the
    first content word after the one that refers back (past the nouns "that" or
    "those" points at), and the question from it on ("services", "services got
    approval in April?" of "Which of its services got approval in April?"; "founded" of
    "When was that company founded?"). The rewrite stops there and the
    user's own words finish it, which spares the model writing them out. Empty when
    another word refers back after it, or no content word follows."""
    if not opening(question):
        return "", ""
    found = list(WORD.finditer(question))
    first = next((i for i, m in enumerate(found) if fold(m.group()) in _BACK), None)
    if first is None:
        return "", ""
    after = found[first + 1 :]
    if any(fold(m.group()) in _BACK for m in after):
        return "", ""
    pointed = named_by_demonstrative(question)
    for match in after:
        terms = content_terms(match.group())
        if terms and not terms <= pointed:
            return match.group(), question[match.start() :].rstrip()
    return "", ""


def swapped(question: str, last: str) -> str:
    """For "What about helper T cells?" after "Which co-receptor helps killer T cells
    recognize ...?": the last question with the new topic in place of the phrase of as
    many words that ends in the same word. Empty when no phrase there ends so."""
    found = _NEW_TOPIC.match(question)
    if not found:
        return ""
    topic = found.group("topic").split()
    head = stem(fold(topic[-1]).strip(string.punctuation))
    tokens = last.split()
    for end, token in enumerate(tokens):
        start = end + 1 - len(topic)
        if start >= 0 and stem(fold(token).strip(string.punctuation)) == head:
            ending = token[len(token.rstrip(string.punctuation)) :]
            return " ".join([*tokens[:start], *topic[:-1], topic[-1] + ending, *tokens[end + 1 :]])
    return ""


def one_of(question: str, last: str) -> str:
    """For "What about Google?" after a question whose answer is a set ("Who are
    OpenAI's new compute partners?"): whether the new topic belongs to it ("Is Google
    one of OpenAI's new compute partners?"). Empty when the last question does not ask
    for a set."""
    topic = _NEW_TOPIC.match(question)
    asked = _ASKS_FOR_A_SET.match(last)
    if not topic or not asked:
        return ""
    name = topic.group("topic")
    verb, rest = asked.group("verb").lower(), asked.group("rest")
    if asked.group("copula"):
        return f"{_SINGULAR[verb]} {name} one of {rest}?"
    if not rest[:1].islower():  # "Which companies are OpenAI's partners?": not its subject
        return ""
    return f"{_SINGULAR[verb]} {name} {rest}?"


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


def complete(llm: BaseLLM, prompt: str, turns: Sequence[Turn], stop: list[str]) -> str:
    """The model's rewrite. One that would go on with the very word that refers back
    ("What does" then "it want regarding its stake?") is begun instead with another
    first word (``restart``), which the model then goes on from."""
    generation = llm.generate([prompt], stop=stop).generations[0][0]
    reply = generation.text
    if set(words(reply)[:1]) & _REFERS:
        info = generation.generation_info or {}
        token = restart((info.get("alternatives") or [{}])[0], turns)
        if token:
            reply = token + llm.invoke(prompt + token, stop=stop)
    return reply


def restart(first: Alternatives, turns: Sequence[Turn]) -> str:
    """The model's likeliest other first token that starts a name or noun of the last
    turn, else of the turn before, and so on ("Microsoft", not "OpenAI", after "Which
    acquisition is tied to Microsoft's demand?"): what a word refers back to is most
    often in the last turn. Empty when none does."""
    likeliest = sorted(first, key=first.__getitem__, reverse=True)
    for turn in reversed(turns):
        said = words(f"{turn.searched} {turn.answer}")
        for token in likeliest:
            found = words(token)
            if len(found) != 1 or found[0] in _REFERS or found[0] in STOPWORDS:
                continue
            if any(word.startswith(found[0]) for word in said):
                return token
    return ""


def written(llm: BaseLLM, prompt: str, question: str, turns: Sequence[Turn]) -> str:
    """The rewrite after its opening: what the model writes, up to its question mark (a
    stop, which spares it writing the end-of-turn token) or up to where the user's own
    words go on (``rejoin``), which then finish it. A stop before the model has named
    anything ("What was the" of "What was its lead single called?") is passed: the
    model goes on from the user's word."""
    word, rest = rejoin(question)
    if not word:
        reply = complete(llm, prompt, turns, [*STOP, "?"])
    else:
        reply = complete(llm, prompt, turns, [*STOP, f" {word}"])
        if not reply.rstrip().endswith("?"):
            if content_terms(reply) - content_terms(question):
                reply = f"{reply} {rest}"
            else:
                so_far = f"{reply} {word}"
                reply = so_far + llm.invoke(prompt + so_far, stop=[*STOP, "?"])
    reply = " ".join(reply.split())
    return reply if not reply or reply[-1] in ".!?" else reply + "?"


class Rewriter:
    """Turns a follow-up into a question that stands alone (without an LLM, the
    extractive reader alone, it leaves it unresolved)."""

    def __init__(
        self, llm: BaseLLM | None, prompt_file: Path, reader_ahead: BaseLLM | None = None
    ) -> None:
        self.prompt = load_prompt(prompt_file)
        self.llm = llm
        self.reader_ahead = reader_ahead
        self.started = False  # whether the shared instructions and examples were read

    def prefix(self, turns: Sequence[Turn]) -> str:
        """The prompt up to the question: what the next follow-up's rewrite will share;
        without turns, up to the conversation: what every rewrite shares."""
        if not turns:
            marked = self.prompt.format(conversation=_MARK, question="")
        else:
            conversation = conversation_text(recent(turns))
            marked = self.prompt.format(conversation=conversation, question=_MARK)
        return marked.split(_MARK)[0].rstrip(" ")

    def prepare(self, history: Sequence[Turn]) -> threading.Thread | None:
        """Read the next rewrite's shared prompt ahead, in the background while the user
        types, so a follow-up pays only for its own words: only with ``reader_ahead``, a
        model that keeps the prompt in a slot of its own (the in-process one). Without
        history (a conversation starting), the instructions and worked examples every
        rewrite shares, once, a piece at a time (about 520 tokens, 7 s here); after a
        turn, the conversation too, all at once (only its turns are new to the model) and
        before any other prompt waiting, as the next follow-up needs it first."""
        if self.reader_ahead is None or (not history and self.started):
            return None
        self.started = True
        prefix = self.prefix(history)
        return AHEAD.read(self.reader_ahead, prefix, in_pieces=not history, first=bool(history))

    def render(self, question: str, turns: Sequence[Turn]) -> str:
        """The prompt, with the rewrite begun by the user's own opening words."""
        question = " ".join(question.split())
        prompt = self.prompt.format(conversation=conversation_text(turns), question=question)
        return prompt + opening(question)

    def followup(self, question: str, history: Sequence[Turn]) -> Followup:
        """The question itself when it stands alone or there is no history; else the
        LLM's rewrite when it fills something in and is faithful; else unresolved."""
        turns = recent(history)
        if not turns or not leans_on_history(question):
            return Followup(question, question)
        if self.llm is None:
            return unresolved(question, turns)
        reply = written(self.llm, self.render(question, turns), question, turns)
        begun = opening(question)
        if fold(reply).startswith(fold(begun)):  # a chat server may write it out again
            begun = ""
        rewrite = f"{begun} {reply}".strip().strip("\"'“”")
        last = turns[-1].searched
        for candidate in (rewrite, swapped(question, last), one_of(question, last)):
            resolved = content_terms(candidate) - content_terms(question)  # what it filled in
            if resolved and faithful(candidate, question, turns):
                return Followup(candidate, candidate, rewritten=True, shown=shown(turns))
        return unresolved(question, turns)


class Conversation:
    """A conversation with qa: each question is answered in the context of the turns
    before it (the last MAX_TURNS), until ``clear``."""

    def __init__(self, pipeline: Pipeline, turns: Sequence[Turn] = ()) -> None:
        self.pipeline = pipeline
        self.turns: list[Turn] = list(turns)
        # While the user types the first question: the rewrite's worked examples, then
        # the support check's.
        pipeline.rewriter.prepare(self.turns)
        pipeline.check.prepare()

    def ask(
        self, question: str, on_token: TokenSink | None = None, warn: Warn | None = None
    ) -> Answer:
        answer = self.pipeline.ask(question, on_token, warn, history=self.turns)
        self.turns = [*self.turns[-MAX_TURNS + 1 :], Turn.after(answer)]
        self.pipeline.rewriter.prepare(self.turns)
        self.pipeline.check.prepare()
        return answer

    def clear(self) -> None:
        """Start afresh: later questions stand alone again."""
        self.turns = []
