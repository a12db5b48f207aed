"""One form for a question however it was typed: "is openai allowed to build weapons"
and "Is OpenAI allowed to build weapons?" are the same question, and every step after
this one (rewrite, retrieval, reader, LLM, checks) sees the same text for both.

Spacing, curly quotes, Unicode dashes and the closing punctuation are normalised, and
each word takes the case the corpus itself most often writes it in away from the start
of a sentence ("openai" -> "OpenAI", "typer_use_rich" -> "TYPER_USE_RICH", "Leads" ->
"leads"): the documents, not a word list, say what is a name. A word the corpus never
writes is lower case: it can match nothing there, and its case would only make the
same question two questions.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

_WORD = re.compile(r"\w+(?:\.\w+)*")
_STARTS_SENTENCE = re.compile(r"(?:^|[.!?:;\n#])[\s\"'“”‘’*_`>(\[-]*$")
_FOLD = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "‑": "-", "–": "-", "—": "-"})
_END = re.compile(r"[\s?.!]+$")
_PHRASE_SIZES = (3, 2)
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
    other than a space (a phrase never spans a comma or a bracket)."""
    run: list[tuple[str, bool]] = []
    end = 0
    for match in _WORD.finditer(text):
        between = text[end : match.start()]
        if run and (between.strip() or "\n" in between):
            yield run
            run = []
        begins = _begins_sentence(text, match.start())
        run.append((match.group(), begins))
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


def _dominant(counts: Counter[str] | Counter[tuple[str, ...]]) -> Any:
    return max(counts, key=lambda form: (counts[form], form == _lower(form)))


def _lower(form: str | tuple[str, ...]) -> str | tuple[str, ...]:
    return form.lower() if isinstance(form, str) else tuple(w.lower() for w in form)


def casing(texts: Iterable[str]) -> Casing:
    """Each word's most frequent written form in the texts, and each phrase's, counting
    only what does not begin a sentence (where any word is capitalised), unless the
    word is never written elsewhere."""
    runs = [run for text in texts for run in _runs(text)]
    forms: dict[str, Counter[str]] = defaultdict(Counter)
    first: dict[str, Counter[str]] = defaultdict(Counter)
    for run in runs:
        for word, begins in run:
            (first if begins else forms)[word.lower()][word] += 1
    words = {lower: _dominant(counts) for lower, counts in first.items()}
    words.update((lower, _dominant(counts)) for lower, counts in forms.items())
    grams: dict[tuple[str, ...], Counter[tuple[str, ...]]] = defaultdict(Counter)
    for size in _PHRASE_SIZES:
        for run in runs:
            for at in range(len(run) - size + 1):
                gram = tuple(w for w, _ in run[at : at + size])
                if not run[at][1] and any(not w.islower() for w in gram):
                    grams[tuple(w.lower() for w in gram)][gram] += 1
    phrases = {}
    for lower, counts in grams.items():
        form = _dominant(counts)
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
