"""Tests for qa.corpus.chunking: sentence splitting and offset-exact chunks."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qa.answer.verifier import cite
from qa.corpus.chunking import LineIndex, chunk_text, sentence_spans, sentences
from qa.corpus.documents import read_text
from qa.guard import screen
from qa.models import Chunk, Evidence

# Text built from characters that matter to the splitter: sentence ends, quotes,
# brackets, newlines, list markers, unicode letters and unicode whitespace.
_ALPHABET = st.sampled_from(
    list("abcXYZ019 .!?…\"'”’)]\n\t-*#>é漢\u00a0\u2028\u3000")
) | st.characters(blacklist_categories=("Cs",))
TEXTS = st.text(alphabet=_ALPHABET, max_size=400)
MAX_CHARS = st.integers(min_value=5, max_value=200)


def split(text: str) -> list[str]:
    return [text[s:e] for s, e in sentences(text)]


def line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


# --- sentences ---------------------------------------------------------------


def test_sentences_splits_two_plain_sentences() -> None:
    assert split("It rained. Then it stopped.") == ["It rained.", "Then it stopped."]


def test_sentences_keeps_us_department_together() -> None:
    text = "He joined the U.S. Department of Defense last year. He left."
    assert split(text) == ["He joined the U.S. Department of Defense last year.", "He left."]


def test_sentences_keeps_washington_dc_together() -> None:
    text = "Teams in Washington, D.C. will prototype tools. Nobody objected."
    assert split(text) == ["Teams in Washington, D.C. will prototype tools.", "Nobody objected."]


def test_sentences_keeps_title_abbreviation_together() -> None:
    assert split("Dr. Smith arrived. Mr. Jones left.") == ["Dr. Smith arrived.", "Mr. Jones left."]


def test_sentences_does_not_split_before_lower_case() -> None:
    assert split("The value is approx. ten units. It grew!") == [
        "The value is approx. ten units.",
        "It grew!",
    ]


def test_sentences_split_on_question_and_exclamation_marks() -> None:
    assert split("Is it done? Yes! Good.") == ["Is it done?", "Yes!", "Good."]


def test_sentences_keep_closing_quote_with_sentence() -> None:
    assert split('He said "Stop." Then he went.') == ['He said "Stop."', "Then he went."]


def test_sentences_split_on_blank_line_and_list_items() -> None:
    text = "Title line\n\nFirst paragraph\n- item one\n- item two"
    assert split(text) == ["Title line", "First paragraph", "- item one", "- item two"]


def test_sentences_single_newline_does_not_split() -> None:
    assert split("a sentence that wraps\nonto the next line.") == [
        "a sentence that wraps\nonto the next line."
    ]


def test_sentences_trim_whitespace_and_yield_nothing_for_blank_text() -> None:
    assert list(sentences("   \n\t  ")) == []
    assert list(sentences("  Hi there.  ")) == [(2, 11)]


def test_sentences_respect_start_and_end() -> None:
    text = "Skip me. Take this. And this. Not this."
    got = [text[s:e] for s, e in sentences(text, 9, 29)]
    assert got == ["Take this.", "And this."]


# --- LineIndex ---------------------------------------------------------------


def test_line_index_maps_offsets_to_lines() -> None:
    index = LineIndex("ab\ncd\n\nef")
    assert [index.line(i) for i in range(9)] == [1, 1, 1, 2, 2, 2, 3, 4, 4]


def test_line_index_counts_crlf_by_newline() -> None:
    index = LineIndex("a\r\nb")
    assert [index.line(i) for i in range(4)] == [1, 1, 1, 2]


# --- chunk_text ----------------------------------------------------------------


def test_chunk_text_short_text_is_one_chunk() -> None:
    text = "  One. Two.\nThree.  "
    chunks = chunk_text(text, "/docs/a.txt", "hash", max_chars=600)
    assert len(chunks) == 1
    chunk = chunks[0]
    assert (chunk.start, chunk.end) == (2, 18)
    assert chunk.text == "One. Two.\nThree."
    assert (chunk.line_start, chunk.line_end) == (1, 2)
    assert (chunk.source, chunk.doc_hash, chunk.index) == ("/docs/a.txt", "hash", 0)


def test_chunk_text_empty_text_has_no_chunks() -> None:
    assert chunk_text("", "s", "h", max_chars=600) == []
    assert chunk_text(" \n\n ", "s", "h", max_chars=600) == []


def test_chunk_text_overlaps_by_one_sentence() -> None:
    text = "Alpha one. Beta two. Gamma three. Delta four."
    chunks = chunk_text(text, "s", "h", max_chars=33)
    assert [(c.start, c.end, c.text) for c in chunks] == [
        (0, 33, "Alpha one. Beta two. Gamma three."),
        (21, 45, "Gamma three. Delta four."),
    ]
    assert [c.index for c in chunks] == [0, 1]


def test_chunk_text_every_chunk_adds_new_text() -> None:
    text = "Alpha one. Beta two. Gamma three. Delta four."
    chunks = chunk_text(text, "s", "h", max_chars=22)
    for before, after in pairwise(chunks):
        assert after.end > before.end, (before.text, after.text)


def test_chunk_text_cuts_long_sentence_at_spaces() -> None:
    text = " ".join(["word"] * 50)
    chunks = chunk_text(text, "s", "h", max_chars=60)
    assert all(len(c.text) <= 60 for c in chunks)
    assert all(not c.text.startswith(" ") and not c.text.endswith(" ") for c in chunks)
    assert all(set(c.text.split()) == {"word"} for c in chunks)
    assert chunks[0].start == 0
    assert chunks[-1].end == len(text)


def test_chunk_indices_are_consecutive() -> None:
    text = "\n".join(f"Sentence number {i} is here." for i in range(40))
    chunks = chunk_text(text, "s", "h", max_chars=100)
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert len(chunks) > 5


# --- sentence_spans ----------------------------------------------------------


def test_sentence_spans_use_file_offsets_and_lines() -> None:
    text = "Intro line.\n\nFirst here. Second\nwraps. Third."
    chunk = Chunk(
        source="f.txt",
        start=13,
        end=len(text),
        line_start=3,
        line_end=4,
        text=text[13:],
        doc_hash="h",
        index=0,
    )
    spans = sentence_spans(chunk)
    assert [s.text for s in spans] == ["First here.", "Second\nwraps.", "Third."]
    assert [(s.start, s.end) for s in spans] == [(13, 24), (25, 38), (39, 45)]
    assert [(s.line_start, s.line_end) for s in spans] == [(3, 3), (3, 4), (4, 4)]
    assert all(s.source == "f.txt" for s in spans)
    assert all(s.text == text[s.start : s.end] for s in spans)


# --- properties -------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(text=TEXTS, max_chars=MAX_CHARS)
def test_chunks_are_exact_slices_with_right_lines(text: str, max_chars: int) -> None:
    for i, chunk in enumerate(chunk_text(text, "src", "h", max_chars=max_chars)):
        assert 0 <= chunk.start < chunk.end <= len(text)
        assert chunk.text == text[chunk.start : chunk.end]
        assert chunk.line_start == line_of(text, chunk.start)
        assert chunk.line_end == line_of(text, chunk.end - 1)
        assert chunk.index == i
        assert not chunk.text[0].isspace() and not chunk.text[-1].isspace()


@settings(max_examples=300, deadline=None)
@given(text=TEXTS, max_chars=MAX_CHARS)
def test_sentence_spans_are_exact_slices_with_right_lines(text: str, max_chars: int) -> None:
    for chunk in chunk_text(text, "src", "h", max_chars=max_chars):
        spans = sentence_spans(chunk)
        assert spans, "a non-empty chunk has at least one sentence"
        for span in spans:
            assert chunk.start <= span.start < span.end <= chunk.end
            assert span.text == text[span.start : span.end]
            assert span.line_start == line_of(text, span.start)
            assert span.line_end == line_of(text, span.end - 1)
            assert span.source == "src"


@settings(max_examples=300, deadline=None)
@given(text=TEXTS, max_chars=MAX_CHARS)
def test_chunks_cover_every_non_whitespace_character(text: str, max_chars: int) -> None:
    covered = [False] * len(text)
    for chunk in chunk_text(text, "src", "h", max_chars=max_chars):
        for i in range(chunk.start, chunk.end):
            covered[i] = True
    missed = [i for i, ch in enumerate(text) if not ch.isspace() and not covered[i]]
    assert missed == []


@settings(max_examples=200, deadline=None)
@given(text=TEXTS, max_chars=MAX_CHARS)
def test_chunks_respect_max_chars_and_move_forward(text: str, max_chars: int) -> None:
    chunks = chunk_text(text, "src", "h", max_chars=max_chars)
    for chunk in chunks:
        assert chunk.end - chunk.start <= max_chars
    for before, after in pairwise(chunks):
        assert after.start > before.start
        assert after.end >= before.end


@settings(max_examples=300, deadline=None)
@given(text=TEXTS)
def test_sentences_are_ordered_trimmed_and_disjoint(text: str) -> None:
    previous_end = 0
    for start, end in sentences(text):
        assert previous_end <= start < end <= len(text)
        assert not text[start].isspace() and not text[end - 1].isspace()
        previous_end = end


@given(text=st.text(max_size=200))
def test_line_index_matches_newline_count(text: str) -> None:
    index = LineIndex(text)
    for offset in range(len(text) + 1):
        assert index.line(offset) == line_of(text, offset)


@settings(max_examples=200, deadline=None)
@given(text=TEXTS.filter(lambda t: t.strip() and "\x00" not in t), max_chars=MAX_CHARS)
def test_every_citation_quotes_the_file_at_its_offsets(
    tmp_path_factory: pytest.TempPathFactory, text: str, max_chars: int
) -> None:
    """files → chunks → screened sentences → citations: each quote is the file's own text
    (text with a NUL byte is a binary file, never indexed)."""
    path = tmp_path_factory.mktemp("cite") / "doc.txt"
    path.write_bytes(text.encode("utf-8"))
    source = str(path)
    for chunk in chunk_text(read_text(path), source, "h", max_chars=max_chars):
        for span in filter(None, map(screen, sentence_spans(chunk))):
            citation = cite(Evidence(**span.model_dump()))
            assert citation is not None
            assert citation.quote == text[citation.start : citation.end] == span.text
            assert citation.line_start == text.count("\n", 0, citation.start) + 1
