"""Scoring a question set, the LangChain tutorial recipe it is compared with
(``qa eval --baseline``), and fitting abstention to the answering model
(``qa calibrate``).

Imports the base, ``qa.corpus``, ``qa.index``, ``qa.llm`` and ``qa.answer``; the pipeline
that answers is handed in.
"""
