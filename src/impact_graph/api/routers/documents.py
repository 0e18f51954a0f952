"""Documents: upload (runs the ingest pipeline), list, delete.

An upload is saved under a generated name in ``<data_dir>/uploads/``: the first 24 hex
digits of its sha256 plus the extension the readers need. The client's file name is
kept only as metadata (a ``.json`` beside the file, shown in ``GET /documents``), never
used as a path, so no name can escape the folder or overwrite another upload. Naming by
content also makes a repeated upload idempotent: same bytes, same document id,
"unchanged". A new version of a file is a new document; delete the old one. A story's
raw file and file name are removed once it is ingested (`_forget_story_upload`);
other kinds keep theirs until their document is deleted, and the answer says which
(`_kept`).

Size is enforced twice: the route's ``max_body_size`` refuses a too-large
``Content-Length`` before reading and stops a body that grows past the limit while it
streams; the file part itself is counted again while it is copied.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
import uuid
from collections.abc import AsyncIterator
from pathlib import Path as FsPath
from typing import Any

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import JSONResponse

from impact_graph.api.auth import require_read_key, require_write_key
from impact_graph.api.deps import Services, services, store_dep
from impact_graph.api.models import (
    Deleted,
    DocumentOut,
    DocumentStatus,
    Failure,
    Page,
    UploadReport,
    limit_param,
    offset_param,
    page,
)
from impact_graph.api.problems import ProblemError, mb_text, problem_responses, too_large_nl
from impact_graph.config import Settings
from impact_graph.ingest.document import KINDS
from impact_graph.ingest.kinds import normalise_kind
from impact_graph.ingest.report import record_place
from impact_graph.store.port import GraphStore

#: Room for the multipart framing around the file in the whole request body.
MULTIPART_SLACK = 64 * 1024
COPY_CHUNK = 1024 * 1024
ROW_CAP = 10_000


def _supported() -> frozenset[str]:
    from impact_graph.ingest.readers import SUPPORTED_EXTENSIONS

    return SUPPORTED_EXTENSIONS


def uploads_dir(settings: Settings) -> FsPath:
    return settings.data_path / "uploads"


def meta_path(upload: FsPath) -> FsPath:
    """Where an upload's metadata lives: beside the folder, not in it, so that ingesting
    ``uploads/`` by hand never reads the metadata as a JSON record file."""
    return upload.parent.parent / "upload-meta" / (upload.name + ".json")


def _extension(filename: str | None) -> str:
    """The lower-case extension of the client's name, if the readers support it."""
    supported = _supported()
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    ext = os.path.splitext(name)[1].lower()
    if ext not in supported:
        shown = f"'{ext}'" if ext else "no extension"
        raise ProblemError(
            415,
            f"The uploaded file '{name[:100]}' has {shown}, which the readers do not "
            f"support; upload one of {', '.join(sorted(supported))}.",
        )
    return ext


def _save(upload: UploadFile, target_dir: FsPath, ext: str, max_bytes: int) -> tuple[FsPath, int]:
    """Copy the upload to ``<sha256[:24]><ext>``, counting bytes; refuse empty or too big."""
    target_dir.mkdir(parents=True, exist_ok=True)
    tmp = target_dir / f".incoming-{uuid.uuid4().hex}"
    digest = hashlib.sha256()
    size = 0
    blank = True
    try:
        with tmp.open("wb") as out:
            while chunk := upload.file.read(COPY_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise ProblemError(
                        413,
                        f"The file is larger than the upload limit of {mb_text(max_bytes)}; split "
                        "it into smaller files or raise IMPACT_GRAPH_UPLOAD_MAX_BYTES.",
                        extra={"detail_nl": too_large_nl(max_bytes)},
                    )
                blank = blank and not chunk.strip()
                digest.update(chunk)
                out.write(chunk)
        if blank:
            raise ProblemError(
                400,
                "The uploaded file is empty (or only whitespace); upload a file with content.",
                slug="empty-upload",
            )
        final = target_dir / f"{digest.hexdigest()[:24]}{ext}"
        os.replace(tmp, final)
        return final, size
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _remove_upload(path: FsPath) -> None:
    for p in (path, meta_path(path)):
        with contextlib.suppress(FileNotFoundError):
            p.unlink()


def _forget_story_upload(path: FsPath) -> None:
    """Remove an ingested story's raw file and its client file name from the data dir.

    Why: a story's raw text holds residents' names and addresses, and the promise is
    that it is never stored -- only the pseudonymised facts and chunks are. Its file name
    may name a resident too. The document stays; a repeated upload of the same bytes is
    still "unchanged" (by content hash) and is forgotten again; deleting the document
    finds no file to remove.
    """
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    meta = meta_path(path)
    with contextlib.suppress(OSError, ValueError):
        data = json.loads(meta.read_text(encoding="utf-8"))
        if isinstance(data, dict) and data.get("filename"):
            data["filename"] = None
            meta.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def _kept(story: bool) -> dict[str, Any]:
    """What of the upload stays on the server, said in the answer (``file_kept``, ``kept``).

    Decision: only a story's file is removed. A plan, policy text or study is a document
    its organisation wrote to be shared; its file stays so that it can be read again
    when the extraction improves, and so that the upload form can find earlier versions
    of it. It does keep whatever names are in it, so the answer says so, and how to
    remove it (deleting the document removes the file once no document comes from it).
    """
    if story:
        return {
            "file_kept": False,
            "kept": "A story's file and file name are not kept: only its pseudonymised "
            "text and facts are stored.",
        }
    return {
        "file_kept": True,
        "kept": "The file is kept on the server, with any names in it, so it can be read "
        "again; DELETE /documents/{id} removes the document and, with its last document, "
        "the file.",
    }


def _report(filename: str, stored: FsPath, size: int, rep: Any) -> UploadReport:
    return UploadReport(
        filename=filename,
        stored_as=stored.name,
        bytes=size,
        documents=[
            DocumentStatus(doc_id=d.doc_id, status=d.status, kind=d.kind, chunks=d.chunks)
            for d in rep.documents
        ],
        new=rep.new,
        changed=rep.changed,
        unchanged=rep.unchanged,
        failed=rep.failed,
        chunks=rep.chunks,
        entities=dict(rep.entities),
        edges=dict(rep.edges),
        # The server's paths are not the client's business: name the upload instead.
        failures=[
            Failure(
                file=f.file.replace(str(stored), filename),
                row=f.row,
                line=f.line,
                reason=f.reason.replace(str(stored), filename),
                hint=f.hint,
            )
            for f in rep.failures
        ],
        seconds=round(rep.seconds, 3),
    )


@contextlib.asynccontextmanager
async def _warm_upload_path(app: Any) -> AsyncIterator[None]:
    """At start-up, warm the upload path in the background (`warm_up_ingest`), after the
    search's warm-up, in an app made with ``warm_up``; ``app.state.ingest_warming`` holds
    its state. Nothing waits for it: the server is ready as soon as before."""
    svc = getattr(app.state, "services", None)
    if isinstance(svc, Services) and svc.warm_up:
        from impact_graph.search.warmup import WarmUpState, warm_up_ingest

        state = app.state.ingest_warming = WarmUpState()
        threading.Thread(
            target=warm_up_ingest,
            args=(svc.pipeline, svc.ingest_lock, svc.warming, state),
            name="impact-graph-ingest-warm-up",
            daemon=True,
        ).start()
    yield


def build_router(settings: Settings) -> APIRouter:
    """The documents routes; the upload limit and read-key rule come from ``settings``."""
    read_deps = [Depends(require_read_key)] if settings.api_read_key_required else []
    router = APIRouter(tags=["documents"], lifespan=_warm_upload_path)
    max_bytes = settings.upload_max_bytes

    @router.post(
        "/documents",
        response_model=UploadReport,
        status_code=201,
        summary="Upload a document and ingest it",
        description=f"Multipart upload of one file (field `file`; at most {mb_text(max_bytes)}; "
        f"types: {', '.join(sorted(_supported()))}). The file is read, pseudonymised if it "
        "is a story, extracted, embedded and written to the graph; the answer is the "
        "ingest report. 201 when something was written, 200 when the same file was "
        "already there. Needs an API key.",
        responses={
            200: {
                "description": "The same content was already ingested (nothing written).",
                "model": UploadReport,
            },
            **problem_responses(400, 401, 403, 413, 415, 422, 503),
        },
        dependencies=[Depends(require_write_key)],
        max_body_size=max_bytes + MULTIPART_SLACK,
    )
    def upload_document(
        file: UploadFile = File(  # noqa: B008
            ..., description="The document: md, txt, pdf, docx, html, csv, json(l), ris or bib."
        ),
        kind: str | None = Form(
            None,
            description="Force the kind: story, policy, research or plan, or a Dutch word "
            "for one (verhaal, beleid, onderzoek, reisverslag, ...; default: detected).",
            examples=["research"],
        ),
        svc: Services = Depends(services),  # noqa: B008
    ) -> Any:
        filename = (file.filename or "").strip()
        ext = _extension(filename)
        # The same words as the CLI's --kind and a folder name: "reisverslag" is a plan.
        forced = normalise_kind(kind) if kind is not None else None
        if kind is not None and forced is None:
            raise ProblemError(
                422,
                f"Form field 'kind' is '{kind[:40]}'; use one of {', '.join(KINDS)} (or a "
                "Dutch word for one, such as 'reisverslag'), or leave it out to have the kind "
                "detected.",
            )
        svc.store()  # 503 before saving anything when the store is down
        path, size = _save(file, uploads_dir(svc.settings), ext, max_bytes)
        meta = meta_path(path)
        if not meta.exists():
            meta.parent.mkdir(parents=True, exist_ok=True)
            meta.write_text(
                json.dumps(
                    {"filename": filename[:300], "content_type": file.content_type, "bytes": size},
                    ensure_ascii=False,
                ),
                encoding="utf-8",
            )
        with svc.ingest_lock:
            pipeline = svc.pipeline()
            # defer_upkeep=False: a vector-index rebuild an upload makes due starts at once
            # and is not waited for inside the request (see `Pipeline.run`).
            rep = pipeline.run(
                [path],
                kind=forced,
                progress=False,
                defer_upkeep=False,
            )
        report = _report(filename, path, size, rep)
        written = rep.new + rep.changed
        if rep.failures and not (written or rep.unchanged):
            _remove_upload(path)
            first = report.failures[0]
            at = record_place(first.row, first.line)
            at = f" ({at})" if at else ""
            raise ProblemError(
                422,
                f"The file could not be ingested{at}: {first.reason.rstrip('.')}; {first.hint}.",
                slug="ingest-failed",
                errors=[f.model_dump() for f in report.failures],
            )
        story = any(d.kind == "story" for d in rep.documents if d.status != "failed")
        if story:
            _forget_story_upload(path)
        status = 201 if written else 200
        return JSONResponse({**report.model_dump(), **_kept(story)}, status_code=status)

    @router.get(
        "/documents",
        response_model=Page[DocumentOut],
        summary="The stored documents, paged",
        description="Documents ordered by id; `kind` narrows to one kind.",
        responses=problem_responses(401, 422, 503),
        dependencies=read_deps,
    )
    def list_documents(
        request: Request,
        kind: str | None = Query(
            None,
            pattern="^(story|policy|research|plan)$",
            description="Only documents of this kind: story, policy, research or plan.",
            examples=["research"],
        ),
        limit: int = limit_param(20),
        offset: int = offset_param(),
        store: GraphStore = Depends(store_dep),  # noqa: B008
        svc: Services = Depends(services),  # noqa: B008
    ) -> Any:
        where = "WHERE d.kind = $kind " if kind else ""
        params: dict[str, Any] = {"kind": kind or "", "offset": offset, "limit": limit}
        total = store.read_query(
            f"MATCH (d:Document) {where}RETURN count(d)", params, row_cap=1
        ).rows[0][0]
        rows = store.read_query(
            f"MATCH (d:Document) {where}RETURN d.id, d.title, d.name, d.kind, d.year, d.url, "
            "d.format, d.language, d.created_at, d.path ORDER BY d.id SKIP $offset LIMIT $limit",
            params,
            row_cap=ROW_CAP,
        ).rows
        up = uploads_dir(svc.settings)
        items = []
        for did, title, name, k, year, url, fmt, lang, created, path in rows:
            items.append(
                DocumentOut(
                    id=str(did),
                    title=str(title or name or ""),
                    kind=str(k or ""),
                    year=int(year) if isinstance(year, int | float) else None,
                    url=str(url) if url else None,
                    format=str(fmt or ""),
                    language=str(lang or ""),
                    created_at=str(created) if created else None,
                    uploaded_filename=_uploaded_name(up, path),
                )
            )
        return page(items, request, int(total or 0), limit, offset)

    @router.delete(
        "/documents/{document_id}",
        response_model=Deleted,
        summary="Delete a document and the facts only it supported",
        description="Removes the document, its chunks and every fact no other document "
        "supports; shared facts only lose this document from their provenance. An "
        "uploaded file is removed once no stored document comes from it. Needs an API key.",
        responses=problem_responses(401, 403, 404, 422, 503),
        dependencies=[Depends(require_write_key)],
    )
    def delete_document(
        document_id: str = Path(
            ...,
            min_length=1,
            max_length=400,
            description="Document id (from GET /documents).",
            examples=["document:research-welzijn-op-recept-md"],
        ),
        store: GraphStore = Depends(store_dep),  # noqa: B008
        svc: Services = Depends(services),  # noqa: B008
    ) -> Any:
        nodes = store.get_nodes([document_id])
        if not nodes or nodes[0].get("label") != "Document":
            raise ProblemError(
                404,
                f"There is no document with id '{document_id}'; list them with GET /documents.",
            )
        path = nodes[0].get("path")
        with svc.ingest_lock:
            if not store.delete_document(document_id):
                raise ProblemError(
                    404, f"The document '{document_id}' was already deleted; nothing to do."
                )
        up = uploads_dir(svc.settings)
        if isinstance(path, str) and FsPath(path).parent == up:
            left = store.read_query(
                "MATCH (d:Document) WHERE d.path = $p RETURN count(d)", {"p": path}, row_cap=1
            ).rows[0][0]
            if not left:
                _remove_upload(FsPath(path))
        return Deleted(id=document_id)

    return router


def _uploaded_name(uploads: FsPath, path: Any) -> str | None:
    if not isinstance(path, str) or FsPath(path).parent != uploads:
        return None
    try:
        meta = json.loads(meta_path(FsPath(path)).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    name = meta.get("filename") if isinstance(meta, dict) else None
    return str(name) if name else None
