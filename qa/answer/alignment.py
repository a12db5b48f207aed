"""Aligning the LLM's answer phrase back to exact characters of an evidence sentence.

The model rewrites what it copies: it changes case, drops or adds an article, writes
"Oracle, Google Cloud, and SoftBank" for "Oracle, Google Cloud and SoftBank", an ASCII
hyphen for a non-breaking one, or wraps the phrase in words of the question ("Microsoft
wants a larger future stake", "Microsoft was an ally."). Alignment compares words, not
characters, so those differences do not matter, and returns the sentence's own text
between the first and the last matched word: what is shown is always a slice of the
file. Words of the answer that the sentence lacks are allowed only when they are the
question's own words or function words; a name or number the evidence does not hold
makes the phrase unaligned.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from qa.models import Evidence
from qa.terms import STOPWORDS, stem

_TOKEN = re.compile(r"[$€£¥%]|\w+(?:['’]\w+)*", re.UNICODE)
_SKIPPED = frozenset({"a", "an", "the", "and", "&", "or"})  # may be dropped or added freely
_POSSESSIVE = re.compile(r"['’]s$")


@dataclass(frozen=True)
class Span:
    """A phrase of one evidence sentence: ``sentence.text[start:end]``."""

    sentence: Evidence
    start: int
    end: int

    @property
    def text(self) -> str:
        return self.sentence.text[self.start : self.end]


@dataclass(frozen=True)
class Aligned(Span):
    """Where an answer phrase sits, and how much of the phrase's content was found there
    (1.0: all of it)."""

    share: float


@dataclass(frozen=True)
class _Token:
    norm: str
    start: int
    end: int


def _norm(word: str) -> str:
    word = unicodedata.normalize("NFKC", word).casefold().replace("’", "'")
    return _POSSESSIVE.sub("", word)


def tokens(text: str) -> list[_Token]:
    """The words of a text (and currency and percent signs), normalised, with offsets.
    Punctuation and hyphens of any kind separate words and are otherwise ignored."""
    return [_Token(_norm(m.group()), m.start(), m.end()) for m in _TOKEN.finditer(text)]


def _content(seq: Sequence[_Token]) -> list[_Token]:
    return [t for t in seq if t.norm not in _SKIPPED]


def _exact(wanted: list[str], sentence: list[_Token]) -> tuple[int, int] | None:
    """The first window of the sentence whose content words are exactly ``wanted``."""
    content = _content(sentence)
    n = len(wanted)
    for i in range(len(content) - n + 1):
        if [t.norm for t in content[i : i + n]] == wanted:
            return content[i].start, content[i + n - 1].end
    return None


def _longest_run(
    wanted: list[str], sentence: list[_Token], answers: Callable[[int, int], bool]
) -> tuple[int, int, int]:
    """The longest run of consecutive answer words found consecutively in the sentence
    that ``answers(start, length)`` accepts: (length, sentence start offset, sentence
    end offset)."""
    content = _content(sentence)
    best = (0, 0, 0)
    for i in range(len(wanted)):
        for j in range(len(content)):
            k = 0
            while (
                i + k < len(wanted)
                and j + k < len(content)
                and wanted[i + k] == content[j + k].norm
            ):
                k += 1
            if k > best[0] and answers(i, k):
                best = (k, content[j].start, content[j + k - 1].end)
    return best


def _excusable(word: str, question_stems: set[str]) -> bool:
    """A word the answer may add: a function word or one of the question's own."""
    return word in STOPWORDS or word in _SKIPPED or stem(word) in question_stems


_LEAD = re.compile(r"^[^\w\s]+")
_CURRENCY = "$€£¥"
_TRAIL = re.compile(r"[^\w\s]+$")


def _with_marks(phrase: str, text: str, start: int, end: int) -> tuple[int, int]:
    """The window widened over the marks the phrase has around its words where the
    text has them too: "--user-name", "typer.prompt()", "$5" (words alone would drop
    them, and in code they are part of the name); over a currency sign before an
    amount, which the phrase may leave out; without a possessive "'s" it leaves out."""
    phrase = phrase.strip().rstrip(".,;:!?")
    if start > 0 and text[start - 1] in _CURRENCY and text[start].isdigit():
        start -= 1  # "200 million" copied from "$200 million" is an amount of dollars
    if lead := _LEAD.search(phrase):
        marks = lead.group()
        for k in range(len(marks), 0, -1):
            if text[max(0, start - k) : start] == marks[-k:]:
                start -= k
                break
    if _POSSESSIVE.search(text[start:end]) and not _POSSESSIVE.search(phrase):
        end -= 2  # "Microsoft" copied from "Microsoft's consent" is the name, not "Microsoft's"
    if trail := _TRAIL.search(phrase):
        marks = trail.group()
        for k in range(len(marks), 0, -1):
            if text[end : end + k] == marks[:k]:
                end += k
                break
    return start, end


def align(phrase: str, evidence: Sequence[Evidence], question: str = "") -> Aligned | None:
    """The best place in the evidence for the phrase: an exact word match in the first
    sentence that has one, else the longest partial match whose missing words are all
    excusable (the question's words, function words), its share of the phrase's words
    a signal for the verifier; None when the phrase is not in the evidence.

    The first sentence, not the one that shares most of the question's terms: that
    choice raised the cited sentence's similarity and coverage, which the abstention
    model reads, on questions written to look answerable (docs/quality.md)."""
    wanted = [t.norm for t in _content(tokens(phrase))]
    if not wanted:
        return None
    parsed = [(item, tokens(item.text)) for item in evidence]
    for item, sentence in parsed:
        if window := _exact(wanted, sentence):
            return Aligned(item, *_with_marks(phrase, item.text, *window), 1.0)
    asked = {stem(t.norm) for t in tokens(question)}

    def answers(at: int, length: int) -> bool:
        """Every word left out is excusable, and the run holds one that is not (only
        function or question words matched is nothing of an answer)."""
        rest = wanted[:at] + wanted[at + length :]
        run = wanted[at : at + length]
        return all(_excusable(w, asked) for w in rest) and not all(
            _excusable(w, asked) for w in run
        )

    best: Aligned | None = None
    for item, sentence in parsed:
        length, start, end = _longest_run(wanted, sentence, answers)
        share = length / len(wanted)
        if length and (best is None or share > best.share):
            best = Aligned(item, start, end, share)
    return best
