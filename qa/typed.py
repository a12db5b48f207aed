"""One form for a question however it was typed: "is openai allowed to build weapons"
and "Is OpenAI allowed to build weapons?" are the same question, and every step after
this one (rewrite, retrieval, reader, LLM, checks) sees the same text for both.

Spacing, curly quotes, Unicode dashes and the closing punctuation are normalised, and
each word takes the case the corpus itself most often writes it in away from the start
of a sentence ("openai" -> "OpenAI", "typer_use_rich" -> "TYPER_USE_RICH", "Leads" ->
"leads"): the documents, not a word list, say what is a name. A word the corpus never
writes inside a sentence is lower case: it can match nothing there, and its case would
only make the same question two questions.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

_WORD = re.compile(r"\w+(?:\.\w+)*")
_STARTS_SENTENCE = re.compile(r"(?:^|[.!?:;\n#])[\s\"'“”‘’*_`>(\[-]*$")
_FOLD = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "‑": "-", "–": "-", "—": "-"})
_END = re.compile(r"[\s?.!]+$")
_PHRASE_SIZES = (3, 2)
NAME_SHARE = 0.75
_Form = TypeVar("_Form", str, tuple[str, ...])
_INITIALS = re.compile(r"(?:^|[\s(])(?:[A-Z]\.)*[A-Z]$")


@dataclass(frozen=True)
class Casing:
    """How the corpus writes its words, and the runs of two or three words whose case
    the words alone do not give ("OpenAI for Government" where "government" is mostly
    written lower case), each by its lower case."""

    words: dict[str, str]
    phrases: dict[tuple[str, ...], tuple[str, ...]]


def _runs(text: str) -> Iterable[list[tuple[str, bool]]]:
    """The text's words with whether each begins a sentence, in runs split at any mark
    other than a space (a phrase never spans a comma or a bracket) and at line ends.
    A line written in capitals (a heading, "Usage: main [OPTIONS] NAME") says nothing
    of how its words are written in a sentence, and is left out."""
    for line in text.splitlines():
        found = list(_WORD.finditer(line))
        if len(found) > 1 and sum(not m.group().islower() for m in found) > len(found) / 2:
            continue
        run: list[tuple[str, bool]] = []
        end = 0
        for match in found:
            if run and line[end : match.start()].strip():
                yield run
                run = []
            run.append((match.group(), _begins_sentence(line, match.start())))
            end = match.end()
        if run:
            yield run


def _begins_sentence(text: str, at: int) -> bool:
    """Whether a word at ``at`` begins a sentence, a line or a heading; a full stop after
    initials ("U.S. Department") ends none."""
    before = _STARTS_SENTENCE.search(text[max(0, at - 8) : at])
    if before is None:
        return False
    initials = _INITIALS.search(text, 0, at - len(before.group()))
    return not (before.group().startswith(".") and initials)


def _dominant(counts: Counter[_Form], lower: _Form) -> _Form:
    """The form written most, when it is lower case or holds NAME_SHARE of the counts
    (a name is seldom written in lower case); else lower case."""
    form = max(counts, key=lambda form: (counts[form], form == lower))
    if form == lower or counts[form] >= NAME_SHARE * sum(counts.values()):
        return form
    return lower


def casing(texts: Iterable[str]) -> Casing:
    """Each word's usual written form in the texts, and each phrase's, counting only
    what does not begin a sentence (where any word is capitalised)."""
    runs = [run for text in texts for run in _runs(text)]
    forms: dict[str, Counter[str]] = defaultdict(Counter)
    for run in runs:
        for word, begins in run:
            if not begins:
                forms[word.lower()][word] += 1
    words = {lower: _dominant(counts, lower) for lower, counts in forms.items()}
    grams: dict[tuple[str, ...], Counter[tuple[str, ...]]] = defaultdict(Counter)
    for counting in (False, True):  # the phrases with a capital, then all their forms
        for size in _PHRASE_SIZES:
            for run in runs:
                for at in range(len(run) - size + 1):
                    if run[at][1]:
                        continue
                    gram = tuple(w for w, _ in run[at : at + size])
                    lower = tuple(w.lower() for w in gram)
                    if counting and lower in grams:
                        grams[lower][gram] += 1
                    elif not counting and any(not w.islower() for w in gram):
                        grams[lower] = Counter()
    phrases = {}
    for lower, counts in grams.items():
        form = _dominant(counts, lower)
        if form != tuple(words.get(w, w) for w in lower):
            phrases[lower] = form
    return Casing(words, phrases)


def normalise(question: str, cased: Casing) -> str:
    """The question in one form: single spaces, plain quotes and hyphens, one closing
    "?", each word in the corpus's case, the first letter capitalised."""
    text = " ".join(question.translate(_FOLD).split())
    text = _END.sub("", text)
    if not text:
        return question.strip()
    text = _WORD.sub(lambda m: cased.words.get(m.group().lower(), m.group().lower()), text) + "?"
    text = _phrases(text, cased)
    first = _WORD.search(text)
    if first and first.group().isalpha() and first.group().islower():
        text = text[: first.start()] + text[first.start()].upper() + text[first.start() + 1 :]
    return text


def _phrases(text: str, cased: Casing) -> str:
    """The text with each run of words the corpus writes as a phrase in its case."""
    found = list(_WORD.finditer(text))
    out, end, at = [], 0, 0
    while at < len(found):
        for size in _PHRASE_SIZES:
            group = found[at : at + size]
            joined = all(text[a.end() : b.start()] == " " for a, b in itertools.pairwise(group))
            form = cased.phrases.get(tuple(m.group().lower() for m in group))
            if len(group) == size and joined and form:
                for match, word in zip(group, form, strict=True):
                    out += [text[end : match.start()], word]
                    end = match.end()
                at += size
                break
        else:
            at += 1
    return "".join([*out, text[end:]])
