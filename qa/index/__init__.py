"""The index: embeddings, the vector and lexical indexes, the manifest, the store, and
what an index run does.

Imports the base and ``qa.corpus``.
"""
