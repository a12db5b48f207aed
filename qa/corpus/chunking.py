"""Split text into sentences and chunks that keep their exact character offsets."""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator

from qa.models import Chunk, Span

# A form feed is a page break (qa.corpus.formats): no sentence or chunk runs across one.
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s)|\n\s*\n|\f|\n(?=\s*(?:[-*#>]|\d+[.)])\s)")
_ABBREVIATION = re.compile(
    r"(?:\b(?:[A-Za-z]\.)+|\b(?:Mr|Mrs|Ms|Dr|Prof|St|Jr|Sr|Inc|Ltd|Co|Corp|vs|etc|e\.g|i\.e|"
    r"No|Fig|Vol|approx|Gen|Gov|Sen|Rep|Mt|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.)$"
)


class LineIndex:
    """Turns character offsets into 1-based line numbers."""

    def __init__(self, text: str) -> None:
        self._starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def line(self, offset: int) -> int:
        return bisect.bisect_right(self._starts, offset)


def sentences(text: str, start: int = 0, end: int | None = None) -> Iterator[tuple[int, int]]:
    """Yield (start, end) of each sentence in text[start:end], whitespace trimmed."""
    end = len(text) if end is None else end
    cursor = start
    for match in _SENTENCE_END.finditer(text, start, end):
        if match.group().startswith((".", "…")) and _ABBREVIATION.search(
            text, max(start, match.start() - 12), match.start() + 1
        ):
            continue
        if match.group()[0] not in "\n" and _next_starts_lower(text, match.end(), end):
            continue
        yield from _trimmed(text, cursor, match.end())
        cursor = match.end()
    yield from _trimmed(text, cursor, end)


def _next_starts_lower(text: str, pos: int, end: int) -> bool:
    rest = text[pos : min(end, pos + 8)].lstrip()
    return bool(rest) and rest[0].islower()


def _trimmed(text: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        yield start, end


def _pieces(text: str, max_chars: int) -> Iterator[tuple[int, int]]:
    """Sentences, with any sentence longer than max_chars cut at whitespace."""
    for start, end in sentences(text):
        while end - start > max_chars:
            cut = text.rfind(" ", start + max_chars // 2, start + max_chars)
            cut = cut if cut > start else start + max_chars
            yield from _trimmed(text, start, cut)
            start = cut
        yield from _trimmed(text, start, end)


_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$", re.MULTILINE)


def heading_trails(text: str) -> list[tuple[int, str]]:
    """(offset, "Title > Section > Subsection") at each Markdown ATX heading."""
    trail: list[tuple[int, str]] = []
    found = []
    for match in _HEADING.finditer(text):
        level = len(match.group(1))
        trail = [(lvl, title) for lvl, title in trail if lvl < level] + [(level, match.group(2))]
        found.append((match.start(), " > ".join(title for _, title in trail)))
    return found


def chunk_text(
    text: str, source: str, doc_hash: str, max_chars: int, markdown: bool = False
) -> list[Chunk]:
    """Pack whole sentences into chunks of about max_chars, overlapping by one sentence.
    No chunk runs across a page break, or in Markdown across a heading; there each
    chunk carries the headings it sits under as its context."""
    lines = LineIndex(text)
    trails = heading_trails(text) if markdown else []
    trail_starts = [offset for offset, _ in trails]
    sections = set(trail_starts)

    def breaks(piece: int) -> bool:
        """Whether a chunk must end before this piece: a page break or a heading."""
        start = pieces[piece][0]
        return start in sections or "\f" in text[pieces[piece - 1][1] : start]

    pieces = list(_pieces(text, max_chars))
    chunks: list[Chunk] = []
    first = 0
    while first < len(pieces):
        last = first
        while (
            last + 1 < len(pieces)
            and pieces[last + 1][1] - pieces[first][0] <= max_chars
            and not breaks(last + 1)
        ):
            last += 1
        start, end = pieces[first][0], pieces[last][1]
        chunks.append(
            Chunk(
                source=source,
                start=start,
                end=end,
                line_start=lines.line(start),
                line_end=lines.line(end - 1),
                text=text[start:end],
                doc_hash=doc_hash,
                index=len(chunks),
                context=_context(trails, trail_starts, start, end),
            )
        )
        overlap_fits = (
            last > first
            and last + 1 < len(pieces)
            and pieces[last + 1][1] - pieces[last][0] <= max_chars
            and not breaks(last + 1)
        )
        first = last if overlap_fits else last + 1
    return chunks


def _context(trails: list[tuple[int, str]], starts: list[int], start: int, end: int) -> str:
    """The heading trail in force where the chunk starts (or the first one inside it)."""
    if not trails:
        return ""
    at = bisect.bisect_right(starts, start) - 1
    if at < 0:
        at = 0 if starts[0] < end else -1
    return trails[at][1] if at >= 0 else ""


def sentence_spans(chunk: Span) -> list[Span]:
    """The sentences of a chunk, with offsets and lines in the chunk's file."""
    spans = []
    for s, e in sentences(chunk.text):
        line = chunk.line_start + chunk.text.count("\n", 0, s)
        spans.append(
            Span(
                source=chunk.source,
                start=chunk.start + s,
                end=chunk.start + e,
                line_start=line,
                line_end=line + chunk.text.count("\n", s, e - 1),
                text=chunk.text[s:e],
            )
        )
    return spans
