"""Exceptions raised by qa.

Every error the library raises on purpose is a ``QAError``; the CLI prints its
message as one line and exits non-zero. The tree::

    QAError
    ├── DocsError        the docs folder or a file in it cannot be used
    ├── QuestionError    the question is empty or otherwise unusable
    ├── StoreError       the store is missing, damaged, or locked by another run
    │   ├── StoreDamaged its files are unreadable or from another version (qa rebuilds it)
    │   └── EmbedderMismatch  its vectors come from another embedding model than this run's
    ├── ModelError       a packaged model is missing or fails to load or run
    └── EvalFileError    a question-set file for ``qa eval`` or ``qa calibrate`` is malformed
                         or cannot be fitted
"""


class QAError(Exception):
    """Base class for every error qa raises on purpose."""


class DocsError(QAError):
    """The documents to index cannot be found or read."""


class QuestionError(QAError):
    """The question cannot be answered as given (empty, blank)."""


class StoreError(QAError):
    """The vector store is missing, damaged, or busy."""


class StoreDamaged(StoreError):
    """The store's files are unreadable or from another version; the documents rebuild it."""


class EmbedderMismatch(StoreError):
    """The store's vectors were made by another embedding model than the one asked for."""


class ModelError(QAError):
    """A model is not installed, or failed to load or generate."""


class EvalFileError(QAError):
    """A question-set file is malformed; the message names the line."""
