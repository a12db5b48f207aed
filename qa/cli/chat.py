"""``qa chat``: a conversation. Answers stream as they are written; a follow-up ("Who
awarded it?") is answered as the question it stands for, shown dimmed above the
answer; /new, /sources, /docs, /help and /quit work between questions."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from qa.cli.display import (
    answer_markdown,
    out,
    show_answer,
    show_citation,
    shown,
    visible,
    warn,
)
from qa.cli.options import say_error
from qa.corpus import documents
from qa.dialogue import Conversation
from qa.errors import QAError
from qa.llm.ahead import AHEAD

if TYPE_CHECKING:
    from prompt_toolkit import PromptSession

    from qa.models import Answer
    from qa.pipeline import Pipeline

CHAT_HELP = """Ask a question and press Enter (arrow keys recall earlier questions). Follow-ups
such as "Who awarded it?" are read in the light of the last few questions. Commands:
  /new       start a new conversation (later questions stand alone)
  /sources   show the full quotes behind the last answer
  /docs      list the documents and their chunks
  /help      this text
  /quit      leave (Ctrl-D works too)"""


def chat_history() -> Path:
    """The chat's question history, readable by its owner only: questions can be as
    private as the documents."""
    saved = Path(typer.get_app_dir("qa")) / "chat-history"
    saved.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(saved, os.O_CREAT | os.O_APPEND, 0o600))
    saved.chmod(0o600)
    return saved


class Prompt:
    """Reads the user's lines: a prompt with history on a terminal (one session for the
    whole chat, made on first use), plain stdin otherwise."""

    def __init__(self) -> None:
        self.session: PromptSession[str] | None = None

    def read(self) -> str | None:
        """The next line, or None at the end of input."""
        if not sys.stdin.isatty():
            line = sys.stdin.readline()
            return line if line else None
        if self.session is None:
            from prompt_toolkit import PromptSession
            from prompt_toolkit.history import FileHistory

            self.session = PromptSession(history=FileHistory(str(chat_history())))
        try:
            return self.session.prompt("? ")
        except EOFError:
            return None


def run_chat(runner: Pipeline, debug: bool) -> None:
    """The chat loop; an error in one answer is said and the chat goes on."""
    out.print("Ask about your documents. /help for commands, Ctrl-D to leave.")
    prompt = Prompt()
    conversation = Conversation(runner)
    last: Answer | None = None
    try:
        while (line := prompt.read()) is not None:
            line = line.strip()
            if line in ("/quit", "/exit"):
                break
            if line == "/new":
                conversation.clear()
                last = None
                out.print("New conversation.")
            elif line.startswith("/"):
                command(line, runner, last)
            elif line and (answer := stream_answer(conversation, line, debug)) is not None:
                last = answer
    finally:
        AHEAD.cancel()  # leave now, not after what was to be read for the next question


def command(line: str, runner: Pipeline, last: Answer | None) -> None:
    """One of the slash commands."""
    if line == "/help":
        out.print(CHAT_HELP)
    elif line == "/sources":
        if last is None or not last.citations:
            out.print("No sources yet.")
        for number, citation in enumerate(last.citations if last else [], 1):
            show_citation(number, citation, full=True)
    elif line == "/docs":
        show_docs(runner)
    else:
        out.print(f"Unknown command {shown(line)}; /help lists them.")


def show_docs(runner: Pipeline) -> None:
    files = runner.store.manifest().files
    for source, entry in files.items():
        out.print(f"{shown(documents.display_path(Path(source)))}  ({entry.chunks} chunks)")
    total = sum(entry.chunks for entry in files.values())
    out.print(f"{len(files)} documents, {total} chunks")


def stream_answer(conversation: Conversation, question: str, debug: bool) -> Answer | None:
    """Answer one question of the conversation, showing the draft as it is written (dim,
    then replaced by the checked answer, below the question searched when it was a
    follow-up); None when the pipeline failed."""
    from rich.live import Live
    from rich.text import Text

    draft = Text(style="dim")
    with Live(draft, console=out, transient=True, auto_refresh=False) as live:

        def stream(token: str) -> None:
            draft.append(visible(token))
            live.refresh()

        try:
            answer = conversation.ask(question, on_token=stream, warn=warn)
        except QAError as exc:
            say_error(exc, debug)
            return None
    if answer.standalone:
        out.print(Text(f"searched: {visible(answer.standalone)}", style="dim"))
    if out.is_terminal:
        out.print(answer_markdown(answer))
    else:
        show_answer(answer)
    out.print()
    return answer
