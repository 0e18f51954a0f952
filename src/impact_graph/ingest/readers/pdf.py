"""PDF files → page text (pypdf).

PDFs carry no reliable heading structure, so no sections are made; the start offset of
every page goes to ``meta["page_starts"]`` so a span can be traced back to its page.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path

from pypdf import PasswordType, PdfReader
from pypdf.errors import DependencyError, FileNotDecryptedError, PdfReadError, PyPdfError

from impact_graph.ingest.errors import IngestError
from impact_graph.ingest.readers._common import Parsed, TextBuilder, normalise_newlines

_ENCRYPTED_HINT = "remove the password (e.g. print to PDF) and ingest it again"


def _corrupt(path: Path, detail: str) -> IngestError:
    return IngestError(
        path,
        f"the PDF is damaged or not a PDF ({detail})",
        "open and re-save it (or print it to PDF) and ingest it again",
    )


def read_pdf(data: bytes, path: Path) -> Parsed:
    """Text of every page; encrypted PDFs that need a password are refused."""
    # pypdf logs every repair it attempts; the outcome is reported as an IngestError.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            try:
                ok = reader.decrypt("")  # owner-password-only PDFs open with an empty one
            except (DependencyError, NotImplementedError):
                ok = PasswordType.NOT_DECRYPTED
            if ok == PasswordType.NOT_DECRYPTED:
                raise IngestError(path, "the PDF is encrypted", _ENCRYPTED_HINT)
        builder = TextBuilder()
        page_starts: list[int] = []
        for page in reader.pages:
            page_text = normalise_newlines(page.extract_text() or "")
            page_starts.append(builder.next_start)
            builder.add_block(page_text)
        title = ""
        info = reader.metadata
        if info is not None and info.title:
            title = str(info.title)
    except IngestError:
        raise
    except FileNotDecryptedError:
        raise IngestError(path, "the PDF is encrypted", _ENCRYPTED_HINT) from None
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise _corrupt(path, str(e).splitlines()[0][:120] if str(e) else type(e).__name__) from None
    except Exception as e:  # pypdf raises many kinds on broken files; report, never crash
        raise _corrupt(path, type(e).__name__) from None
    plain, _ = builder.build()
    if not plain.strip():
        raise IngestError(
            path,
            "the PDF has no text layer (it is probably a scan)",
            "run OCR on it (e.g. ocrmypdf) and ingest the result",
        )
    return Parsed(
        text=plain, title=title, meta={"pages": len(page_starts), "page_starts": page_starts}
    )
