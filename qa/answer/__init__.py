"""Answering one question: retrieval, the extractive reader, the LLM's answer, alignment,
the checks and abstention, and the rewrite of a follow-up.

Imports the base, ``qa.corpus``, ``qa.index`` and ``qa.llm``.
"""
