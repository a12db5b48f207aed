"""A conversation with qa (``qa chat``, ``qa.conversation()``): the turns kept, each
question asked as a follow-up to them (``qa.answer.followup``), and what the next question
will need read ahead while the user types (``Pipeline.prepare``)."""

from __future__ import annotations

from collections.abc import Sequence

from qa.answer.followup import MAX_TURNS
from qa.index.store import Warn
from qa.models import Answer, Turn
from qa.pipeline import Pipeline, TokenSink


class Conversation:
    """A conversation with qa: each question is answered in the context of the turns
    before it (the last MAX_TURNS), until ``clear``."""

    def __init__(self, pipeline: Pipeline, turns: Sequence[Turn] = ()) -> None:
        self.pipeline = pipeline
        self.turns: list[Turn] = list(turns)
        pipeline.prepare(followups=True)
        pipeline.rewriter.prepare(self.turns)

    def ask(
        self, question: str, on_token: TokenSink | None = None, warn: Warn | None = None
    ) -> Answer:
        answer = self.pipeline.ask(question, on_token, warn, history=self.turns)
        self.turns = [*self.turns[-MAX_TURNS + 1 :], Turn.after(answer)]
        self.pipeline.rewriter.prepare(self.turns)
        self.pipeline.prepare(followups=True)  # again only when the documents changed
        return answer

    def clear(self) -> None:
        """Start afresh: later questions stand alone again."""
        self.turns = []
