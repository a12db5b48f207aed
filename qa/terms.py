"""Word-level helpers shared by retrieval, verification and evaluation."""

from __future__ import annotations

import re
import string
from collections import Counter

import Stemmer

WORD = re.compile(r"\w+(?:[.'’]\w+)*", re.UNICODE)  # "U.S.", "don't", "3.5" stay whole
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_STEMMER = Stemmer.Stemmer("english")
WH = re.compile(r"\b(what|which|who|whom|whose|when|where|why|how)\b", re.IGNORECASE)
_NUMERIC_ASK = re.compile(
    r"(how (many|much|long|old|far|large|big|often)|(what|which) (year|date|decade|century|"
    r"percentage|percent|number|age)|when)\b",
    re.IGNORECASE,
)
_DIGIT = re.compile(r"\d")
_NUMBER_WORD = re.compile(
    r"\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|"
    r"fifty|hundred|thousand|million|billion|dozen|several|few|many|half|first|second|third|"
    r"january|february|march|april|may|june|july|august|september|october|november|december|"
    r"spring|summer|autumn|fall|winter|century|centuries|decade|year|years|months?|weeks?|"
    r"days?|hours?|minutes?|midsummer|night|morning|evening|after|before|during)\b",
    re.IGNORECASE,
)
_FOLD = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "‑": "-", "–": "-", "—": "-"})

STOPWORDS = frozenset(
    """a an and are as at be been being but by can could did do does done for from had has have
    how i if in into is it its itself may might more most much many no nor not of on one or other
    our over same should so some such than that the their them then there these they this those
    through to too under up very was we were what when where which while who whom whose why will
    with would you your about above after again against all also am any because before below
    between both during each few further here just only own s t now off out once ever else
    name kind type sort called known whats whos tell give list say said describe mention""".split()
)


def fold(text: str) -> str:
    """Lower case with plain quotes and hyphens, keeping every character's position."""
    return "".join(c if len(c := ch.lower()) == 1 else ch for ch in text).translate(_FOLD)


def stem(word: str) -> str:
    """Snowball (Porter 2) stem, so 'corporate' meets 'corporation' and 'teams' meets 'team'."""
    stemmed: str = _STEMMER.stemWord(word)
    return stemmed


def words(text: str) -> list[str]:
    return WORD.findall(fold(text))


def term_list(text: str) -> list[str]:
    """Stemmed words of a text other than stopwords and one-letter tokens, in order."""
    return [stem(w) for w in words(text) if w not in STOPWORDS and len(w) > 1]


def content_terms(text: str) -> set[str]:
    """The distinct terms of a text (see ``term_list``)."""
    return set(term_list(text))


def coverage(question_terms: set[str], text: str) -> float:
    """Share of the question's terms that occur in the text."""
    if not question_terms:
        return 0.0
    return len(question_terms & content_terms(text)) / len(question_terms)


def normalize_answer(text: str) -> str:
    """SQuAD normalisation: lower case, no punctuation, no articles, single spaces."""
    text = fold(text)
    text = "".join(ch for ch in text if ch not in string.punctuation)
    return " ".join(_ARTICLES.sub(" ", text).split())


def token_f1(got: list[str], wanted: list[str]) -> float:
    """SQuAD's token F1 between two lists of normalised tokens."""
    common = sum((Counter(got) & Counter(wanted)).values())
    if not common:
        return 0.0
    precision, recall = common / len(got), common / len(wanted)
    return 2 * precision * recall / (precision + recall)


def asks_for_number(question: str) -> bool:
    """Whether the question's first wh-phrase asks for a number, a date or a time."""
    first = WH.search(question)
    if first is None:
        return False
    return _NUMERIC_ASK.match(question, first.start()) is not None


def mentions_number(text: str) -> bool:
    """Whether the text holds a digit or a number, date or time word."""
    return bool(_DIGIT.search(text) or _NUMBER_WORD.search(text))


_YES_NO_QUESTION = re.compile(
    r"^\W*(is|are|was|were|am|do|does|did|can|could|has|have|had|will|would|should|shall|may|"
    r"might|must|isn't|aren't|wasn't|weren't|doesn't|don't|didn't|can't|won't)\b",
    re.IGNORECASE,
)


_CHOICE = re.compile(r"\bor\b", re.IGNORECASE)
_WH_QUESTION = re.compile(r"^\W*(what|which|who|whom|whose|when|where|why|how)\b", re.IGNORECASE)


def asks_yes_no(question: str) -> bool:
    """Whether the question is answered by yes or no ("Is OpenAI allowed to ...?"), also
    after a clause that sets the scene ("If I pass both, does the flag win?"); one that
    offers a choice ("Is it X or Y?") is answered by a phrase."""
    main = question
    if not _YES_NO_QUESTION.match(main) and not _WH_QUESTION.match(main) and "," in main:
        main = main.split(",", 1)[1]
    return bool(_YES_NO_QUESTION.match(main)) and not _CHOICE.search(main)
