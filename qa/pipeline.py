"""files → chunks → store → retriever → reader → verifier → Answer, as a
LangChain runnable chain."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from langchain_core.language_models.llms import BaseLLM
from langchain_core.runnables import Runnable, RunnableLambda

from qa import typed
from qa.answer import abstention, reading
from qa.answer.followup import REWRITE_TOKENS, Rewriter
from qa.answer.generator import Generator
from qa.answer.reading import Reading
from qa.answer.retriever import Retriever
from qa.answer.span_reader import ExtractiveReader, SpanReader
from qa.answer.support import CHECK_TOKENS, SupportCheck
from qa.answer.verifier import verify_reading
from qa.answer.yes_no import JUDGE_TOKENS, Judge
from qa.errors import ModelError, StoreDamaged
from qa.guard import check_question, question_part
from qa.index import indexing
from qa.index.embeddings import Embedder, MiniLMEmbeddings
from qa.index.store import Progress, Store, Warn
from qa.llm.ahead import AHEAD
from qa.llm.completion import CompletionLLM
from qa.llm.gguf import check_model
from qa.llm.inprocess import CHECK_SLOT, JUDGE_SLOT, REWRITE_SLOT, LlamaCppLLM
from qa.models import Answer, IndexReport, Passage, Timings, Turn
from qa.settings import Settings

if TYPE_CHECKING:
    from qa.evaluation.baseline import Baseline

BASELINE_TOKENS = 64
TokenSink = Callable[[str], None]


@dataclass
class Draft:
    """A question on its way through the chain."""

    asked: str
    question: str = ""
    timings: Timings = field(default_factory=Timings)
    passages: list[Passage] = field(default_factory=list)
    reading: Reading = field(default_factory=Reading)


def store_for(settings: Settings) -> Store:
    s = settings
    return Store(s.store, s.docs, s.chunk_chars, s.max_file_bytes, s.chroma_url, make_embedder(s))


def make_embedder(settings: Settings) -> Embedder:
    """The embeddings server the settings name, else the packaged model in-process."""
    if settings.embed_url:
        from qa.index.remote_embeddings import ServerEmbeddings

        return ServerEmbeddings(
            base_url=settings.embed_url, model=settings.embed_model, **_reaching(settings, "embed")
        )
    return MiniLMEmbeddings()


def _reaching(settings: Settings, server: str) -> dict[str, Any]:
    """How a client reaches the LLM or embeddings server: its key, timeout and retries."""
    return {
        "api_key": getattr(settings, f"{server}_api_key"),
        "timeout": settings.llm_timeout,
        "retries": settings.llm_retries,
    }


def make_llm(settings: Settings) -> BaseLLM:
    """The LLM server the settings name, else their model file or the packaged model,
    in-process."""
    if settings.llm_url and settings.llm_file:
        raise ModelError("--llm-url and --llm-file both name a model: give one of them")
    if settings.llm_file:
        model = check_model(settings.llm_file)
        return LlamaCppLLM(
            model=str(model.path),
            threads=settings.threads,
            max_tokens=settings.max_answer_tokens,
            template="" if model.chatml else model.template,
            bos=model.bos,
            eos=model.eos,
        )
    if settings.llm_url:
        from qa.llm.remote import ServerLLM

        return ServerLLM(
            base_url=settings.llm_url,
            model=settings.llm_model,
            api=settings.llm_api,
            max_tokens=settings.max_answer_tokens,
            **_reaching(settings, "llm"),
        )
    return LlamaCppLLM(threads=settings.threads, max_tokens=settings.max_answer_tokens)


def slot_llm(llm: BaseLLM, max_tokens: int, slot: int) -> BaseLLM:
    """The LLM for rewriting follow-ups, judging yes/no questions or checking support:
    the same model with room for their replies, in a llama.cpp slot of their own so
    each task keeps its own cached prompt prefix."""
    if not isinstance(llm, CompletionLLM):
        return llm
    update: dict[str, int] = {"max_tokens": max_tokens}
    if has_slots(llm):
        update["slot"] = slot
    return llm.model_copy(update=update)


def has_slots(llm: BaseLLM) -> bool:
    """Whether the model keeps each task's prompt in a slot of its own (the in-process
    LlamaCppLLM), so a prompt read ahead stays cached for the next request."""
    return "slot" in type(llm).model_fields


class Pipeline:
    """Everything needed to answer questions about one corpus, loaded once."""

    def __init__(
        self, settings: Settings, llm: BaseLLM | None = None, span_reader: SpanReader | None = None
    ) -> None:
        self.settings = settings
        self.store = store_for(settings)
        self.llm = llm or make_llm(settings)
        self.generator = Generator(self.llm, settings.prompts / "answer.txt")
        rewriter_llm = (
            slot_llm(self.llm, REWRITE_TOKENS, REWRITE_SLOT)
            if settings.reader != "extractive"
            else None
        )
        ahead = None
        if rewriter_llm is not None and has_slots(rewriter_llm):
            ahead = rewriter_llm.model_copy(update={"max_tokens": 1})
        self.rewriter = Rewriter(rewriter_llm, settings.prompts / "rewrite.txt", ahead)
        self.judge = Judge(
            slot_llm(self.llm, JUDGE_TOKENS, JUDGE_SLOT), settings.prompts / "yes-no.txt"
        )
        check_llm = slot_llm(self.llm, CHECK_TOKENS, CHECK_SLOT)
        self.checks_support = settings.check_support and settings.reader != "extractive"
        self.check = SupportCheck(check_llm, settings.prompts / "check.txt")
        self.span_reader = span_reader or ExtractiveReader()
        self._retriever: Retriever | None = None
        self._baseline: Baseline | None = None
        # The retriever whose answer prompt was last read ahead, or read ahead or put back.
        self._prepared: Retriever | None = None
        self._recalled: Retriever | None = None

    def prepare(self, read_ahead: bool = True, followups: bool = False) -> threading.Thread | None:
        """While the user types the first question, read ahead what it will need, in
        the order it is needed: the answer prompt up to the question (with the corpus
        when it is read whole); with ``followups`` (a chat), the rewrite's worked
        examples, which every follow-up needs; the yes/no judge's and the support
        check's, which some questions need. Each is put back from disk when read
        before (``qa.llm.ahead``); without ``read_ahead`` (as a question is answered:
        nothing is read beside it) only that is done. The thread that reads them, if
        any is read."""
        # A retriever is built anew whenever the corpus changes, and so the prompt: done
        # for this one, nothing is to do (and nothing is recomputed on every question).
        retriever = self.retriever
        if not has_slots(self.llm) or retriever in (
            self._prepared,
            None if read_ahead else self._recalled,
        ):
            return None
        if read_ahead:
            self._prepared = retriever
        self._recalled = retriever
        whole = retriever.whole_corpus is not None
        context = reading.llm_context(retriever.passages(""), True, None) if whole else None
        prefix = self.generator.prefix(context)
        shared = [(self.llm, prefix)]
        if followups and self.rewriter.reader_ahead is not None:
            shared.append((self.rewriter.reader_ahead, self.rewriter.prefix([])))
        shared.append((self.judge.llm, self.judge.prefix()))
        if self.checks_support:
            shared.append((self.check.llm, self.check.prefix()))
        thread = None
        for model, prompt in shared:
            model = model.model_copy(update={"max_tokens": 1})
            if read_ahead:
                thread = AHEAD.read(model, prompt, shared=True) or thread
            elif isinstance(model, LlamaCppLLM):
                model.recall(prompt)
        return thread

    def index(
        self, progress: Progress | None = None, warn: Warn | None = None, rebuild: bool = False
    ) -> IndexReport:
        report = indexing.update(self.store, progress, warn, rebuild)
        if report.changed or rebuild:
            self._retriever = None
            self._baseline = None
        return report

    @property
    def retriever(self) -> Retriever:
        """The retriever over the current index, built on first use."""
        if self._retriever is None:
            s = self.settings
            self._retriever = Retriever(self.store, s.top_k)
        return self._retriever

    def baseline(self) -> Baseline:
        """The LangChain tutorial recipe over the same corpus, store and model (imported
        here: only ``qa eval --baseline`` needs it and its text splitters)."""
        if self._baseline is None:
            from qa.evaluation.baseline import Baseline

            llm = self.llm.model_copy(update={"max_tokens": BASELINE_TOKENS})
            self._baseline = Baseline(self.store, llm, self.settings.prompts / "baseline.txt")
        return self._baseline

    def refresh(self, warn: Warn | None = None) -> IndexReport | None:
        """Index the corpus if it is missing, stale or damaged; None when no chunk changed
        (a touched file only has its time saved)."""
        try:
            stale = self.store.is_stale()
        except StoreDamaged:
            stale = True  # update() says so and rebuilds
        report = self.index(warn=warn) if stale else None
        return report if report and (report.changed or report.skipped) else None

    def chain(
        self,
        on_token: TokenSink | None = None,
        search: str | None = None,
        shown: Sequence[str] = (),
    ) -> Runnable[str, Answer]:
        """retrieve | read | verify, with each step's time recorded; retrieval looks for
        the question, or for ``search`` when given (a follow-up with its topic); an
        answer that only repeats one already ``shown`` in the conversation is none."""
        s = self.settings

        def retrieve(question: str) -> Draft:
            draft = Draft(question, question_part(question))
            started = time.perf_counter()
            if draft.question:
                query = question_part(search) if search else draft.question
                draft.passages = self.retriever.passages(query or draft.question)
            draft.timings.retrieve_s = time.perf_counter() - started
            return draft

        def read(draft: Draft) -> Draft:
            started = time.perf_counter()
            if draft.passages:
                draft.reading = reading.read(
                    draft.question,
                    draft.passages,
                    self.span_reader if s.reader != "llm" else None,
                    self.generator if s.reader != "extractive" else None,
                    on_token,
                    whole=self.retriever.whole_corpus is not None,
                    judge=(self.judge, self.retriever.score) if s.reader != "extractive" else None,
                )
                draft.timings.extract_s = draft.reading.extract_s
                if draft.reading.judged is None:  # the judge's scorer has done it
                    self.retriever.score(draft.question, draft.reading.sentences)
            draft.timings.read_s = time.perf_counter() - started
            return draft

        def check(draft: Draft) -> Answer:
            started = time.perf_counter()
            fit = abstention.own_fit(s)  # the answering model's, once qa calibrate made it
            threshold = s.min_confidence
            if threshold is None:
                threshold = abstention.model_for(s.reader, fit).threshold
            check = self.check if self.checks_support else None
            verdict = verify_reading(
                draft.question, draft.reading, s.reader, threshold, shown, check, fit
            )
            draft.timings.verify_s = time.perf_counter() - started
            return Answer(question=draft.asked, timings=draft.timings, **vars(verdict))

        return RunnableLambda(retrieve) | RunnableLambda(read) | RunnableLambda(check)

    def rebuild(self, damage: StoreDamaged, warn: Warn | None) -> None:
        """Rebuild a store found damaged while answering, saying so."""
        (warn or (lambda _: None))(f"{damage}; rebuilding it from the documents")
        self.index(warn=warn, rebuild=True)

    def ask(
        self,
        question: str,
        on_token: TokenSink | None = None,
        warn: Warn | None = None,
        history: Sequence[Turn] = (),
    ) -> Answer:
        """Answer one question, bringing the index up to date first if needed; a
        follow-up to the history is answered as the question it stands for."""
        asked = question = check_question(question)
        started = time.perf_counter()
        with AHEAD.answering():
            self.refresh(warn)
            try:
                casing = self.retriever.casing
            except StoreDamaged as damage:
                self.rebuild(damage, warn)
                casing = self.retriever.casing
            question = typed.normalise(question, casing)
            self.prepare(read_ahead=False)  # what an earlier process read, put back
            index_s = time.perf_counter() - started
            followup = self.rewriter.followup(question, history)
            rewrite_s = time.perf_counter() - started - index_s
            try:
                answer = self.chain(on_token, followup.search, followup.shown).invoke(
                    followup.question
                )
            except StoreDamaged as damage:
                self.rebuild(damage, warn)
                answer = self.chain(on_token, followup.search, followup.shown).invoke(
                    followup.question
                )
        answer.question = asked  # as typed; every step read its one form
        answer.standalone = followup.question if followup.rewritten else ""
        answer.timings.index_s = index_s
        answer.timings.rewrite_s = rewrite_s
        answer.timings.total_s = time.perf_counter() - started
        return answer
