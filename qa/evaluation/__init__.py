"""Scoring a question set, and the LangChain tutorial recipe it is compared with
(``qa eval --baseline``).

Imports the base, ``qa.corpus``, ``qa.index``, ``qa.llm`` and ``qa.answer``; the pipeline
that answers is handed in.
"""
