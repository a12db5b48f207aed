"""The shipped extractive reader, on small texts written for these tests."""

from __future__ import annotations

import pytest

from qa.answer.span_reader import MODEL_DIR, ExtractiveReader, SpanReader

DAM = (
    "The Hoover Dam was completed in 1936 on the Colorado River. "
    "It supplies power to Nevada, Arizona and California."
)
CLOUD = (
    "Besides Microsoft, OpenAI now buys computing power from Oracle, Google Cloud and "
    "SoftBank, a shift that loosens its ties to Redmond."
)
BAKERY = (
    "The bakery on Mill Street opens at six in the morning. Its rye bread sells out "
    "before noon, and the owner, Ana Ruiz, bakes every loaf herself."
)


@pytest.fixture(scope="module")
def reader() -> ExtractiveReader:
    return ExtractiveReader()


def best(reader: SpanReader, question: str, passages: list[str]) -> tuple[str, float, int]:
    [found, *_] = reader.read(question, passages)
    assert passages[found.passage][found.start : found.end] == found.text
    return found.text, found.margin, found.passage


def test_the_model_ships_small_with_its_card() -> None:
    assert (MODEL_DIR / "reader.onnx").stat().st_size < 30_000_000
    assert (MODEL_DIR / "tokenizer.json").exists()
    assert "SHA-256" in (MODEL_DIR / "README.md").read_text(encoding="utf-8")


def test_a_short_span_with_exact_offsets(reader: ExtractiveReader) -> None:
    text, margin, _ = best(reader, "When was the Hoover Dam completed?", [DAM])
    assert text == "1936"
    assert margin > 0


def test_a_list_is_read_whole(reader: ExtractiveReader) -> None:
    text, _, _ = best(reader, "Which companies does OpenAI buy computing power from?", [CLOUD])
    assert text == "Oracle, Google Cloud and SoftBank"


def test_the_right_passage_wins_among_several(reader: ExtractiveReader) -> None:
    text, _, passage = best(reader, "Who bakes the bread?", [DAM, CLOUD, BAKERY])
    assert passage == 2
    assert "Ana Ruiz" in text


def test_an_unanswerable_question_scores_below_an_answerable_one(
    reader: ExtractiveReader,
) -> None:
    _, answerable, _ = best(reader, "What time does the bakery open?", [BAKERY])
    _, unanswerable, _ = best(reader, "How much does the rye bread cost?", [BAKERY])
    assert unanswerable < 0 < answerable


def test_a_passage_longer_than_one_window_is_read_to_the_end(reader: ExtractiveReader) -> None:
    filler = " ".join(f"Room {i} holds old maps of the river valley." for i in range(60))
    text, _, _ = best(reader, "Who keeps the key?", [f"{filler} The key is kept by Olga Berg."])
    assert text == "Olga Berg"


def test_spans_never_cut_a_word(reader: ExtractiveReader) -> None:
    for found in reader.read("What does the dam supply?", [DAM]):
        before = DAM[found.start - 1] if found.start else " "
        after = DAM[found.end] if found.end < len(DAM) else " "
        assert not (before.isalnum() and found.text[0].isalnum())
        assert not (after.isalnum() and found.text[-1].isalnum())


def test_nothing_to_read_gives_nothing(reader: ExtractiveReader) -> None:
    assert reader.read("Who?", []) == []
    assert reader.read("   ", [DAM]) == []
