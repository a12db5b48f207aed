"""Text out of each kind of file qa reads. Offsets and quotes refer to this text, and
the same bytes always give the same text, so a quote can be checked again later.

- ``.txt``, ``.md``: the UTF-8 text itself (no newline translation).
- ``.pdf`` (pypdf): each page's text, pages separated by a form feed, so a citation
  knows its page by counting them.
- ``.html``, ``.htm`` (Beautiful Soup, Python's own parser): the title, then the
  visible text, one line per block; scripts, styles and hidden parts left out.
- ``.docx`` (python-docx): the paragraphs in order, then each table row.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable

PAGE_BREAK = "\f"
TEXT_SUFFIXES = (".txt", ".md")
HTML_SUFFIXES = (".html", ".htm")
SUFFIXES = (*TEXT_SUFFIXES, ".pdf", *HTML_SUFFIXES, ".docx")
_INVISIBLE = ("script", "style", "noscript", "template", "head", "svg", "iframe")
_BLOCKS = (
    "p div section article header footer nav aside main ul ol li dl dt dd table tr td th "
    "h1 h2 h3 h4 h5 h6 blockquote pre figure figcaption form fieldset hr address details"
).split()
_BLANKS = re.compile(r"[ \t\r\f\v\u00a0]+")


class Unreadable(ValueError):
    """The file's bytes are not a usable document of its kind; the message says why."""


def extract(suffix: str, data: bytes) -> str:
    """The text of a file of this kind (``suffix`` lower-case, with its dot)."""
    readers: dict[str, Callable[[bytes], str]] = {
        ".pdf": _pdf,
        ".docx": _docx,
        **dict.fromkeys(HTML_SUFFIXES, _html),
        **dict.fromkeys(TEXT_SUFFIXES, _plain),
    }
    return readers[suffix](data)


def page_of(text: str, offset: int) -> int:
    """The 1-based page holding a character of a PDF's text."""
    return text.count(PAGE_BREAK, 0, offset) + 1


def _plain(data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise Unreadable("binary file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Unreadable(f"not UTF-8 (byte {exc.start})") from exc


def _pdf(data: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise Unreadable("encrypted PDF")
        pages = [_tidy(page.extract_text() or "") for page in reader.pages]
    except (PyPdfError, ValueError, KeyError, TypeError) as exc:
        raise Unreadable(f"unreadable PDF ({' '.join(str(exc).split())[:100]})") from exc
    return PAGE_BREAK.join(pages)


def _html(data: bytes) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(data, "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for hidden in soup(_INVISIBLE):
        hidden.decompose()
    for hidden in soup.select('[hidden], [aria-hidden="true"], [style*="display:none"]'):
        hidden.decompose()
    for block in soup.find_all(_BLOCKS):  # a block starts a line; inline text flows on
        block.insert_before("\n")
        block.insert_after("\n")
    for br in soup.find_all("br"):
        br.replace_with("\n")
    body = _tidy(soup.get_text())
    return f"{title}\n\n{body}" if title and body else title or body


def _docx(data: bytes) -> str:
    import zipfile

    from docx import Document

    try:
        document = Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise Unreadable("unreadable DOCX (not a Word document)") from exc
    lines = [p.text for p in document.paragraphs]
    for table in document.tables:
        lines += [" | ".join(cell.text for cell in row.cells) for row in table.rows]
    return _tidy("\n".join(lines))


def _tidy(text: str) -> str:
    """One space between words, no blank-only lines, no blank line twice in a row."""
    lines = [_BLANKS.sub(" ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
