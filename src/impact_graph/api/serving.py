"""uvicorn's httptools protocol with each response's head and body sent in one write.

Why: uvicorn writes the status line and headers to the socket as soon as the app sends
``http.response.start``, and the body in a second write when ``http.response.body``
follows (uvloop sends each ``transport.write`` at once: strace of a server answering POST
/cypher lookups showed two ``write`` calls per response, 186 and ~3,600 bytes). Two
writes are two syscalls and two wake-ups of the client, which is woken by the head alone
and then waits for the body; on a loaded machine the first wake-up can hand the core to
the client before the body is written. py-spy over such a server (2k nodes, load ~17,
``--native``) found 12.6% of its samples in the head's ``write`` and 4.3% in the body's.
A /cypher answer's head and body are sent in the same step of the event loop, so holding
the head until the body comes costs one ``call_soon`` per response.

Measured (H44, 2026-11-28, load 17-23, POST /cypher lookup on 2k nodes, the app served by
uvicorn in its own process as ``impact-graph serve`` runs it, a keep-alive
``http.client`` caller, 2,000 calls a round, the two servers called in turn, call by
call): p50 1.450 against 1.516 ms, 11.84 against 14.36, 1.354 against 1.425, 2.146
against 2.628 in four rounds (one write instead of two; the caller's CPU 0.015 ms less
a call in each round; the server's CPU the same within 0.02 ms). With the server in a
thread of the caller's process, as ``bench/query.py`` ran it until d92312a, six rounds
of 300 calls showed no difference (p50 ratio to the direct call 1.49 against 1.47, CPU
the same): there the caller waits for the server thread's GIL, not for the second
segment.

What stays the same: the bytes on the wire and their order (only how they are cut into
segments changes; ``tests/test_serving.py`` compares them with uvicorn's own protocol),
flow control (the transport's own buffer and pause/resume callbacks), and every other use
of the transport. A write with nothing after it in the same step (a response with no
body, a ``100 Continue``, the last chunk of a streamed body) goes out at the next turn of
the event loop; bodies of 64 KiB and more are not copied but written after the head.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

#: Bodies from this size are written after the held head rather than copied onto it.
COPY_LIMIT = 64 * 1024


class OneWriteTransport:
    """A transport that holds a write until the next one (then sends both as one) or the
    next turn of the event loop, whichever comes first. Anything else is the wrapped
    transport's."""

    __slots__ = ("_held", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: bytes | None = None

    def write(self, data: bytes) -> None:
        held = self._held
        if held is None:
            self._held = bytes(data)
            self._loop.call_soon(self.flush)
            return
        self._held = None
        if len(data) < COPY_LIMIT:
            self._transport.write(held + data)
        else:
            self._transport.write(held)
            self._transport.write(data)

    def writelines(self, chunks: Any) -> None:
        self.write(b"".join(chunks))

    def flush(self) -> None:
        """Send a held write now (the loop calls this after the step that wrote it)."""
        held, self._held = self._held, None
        if held is not None and not self._transport.is_closing():
            self._transport.write(held)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class OneWriteHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol writing through a `OneWriteTransport`."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        one = OneWriteTransport(transport, self.loop)
        super().connection_made(one)  # type: ignore[arg-type]
