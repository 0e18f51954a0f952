"""`impact_graph.api.serving`: uvicorn's httptools protocol sending each response's head
and body in one write, with the same bytes on the wire as uvicorn's own protocol."""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("httptools")

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from impact_graph.api.app import server_options
from impact_graph.api.serving import (
    COPY_LIMIT,
    OneWriteHttpToolsProtocol,
    OneWriteTransport,
)


class FakeTransport:
    """Records writes; closing as asyncio's transports do."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        assert not self.closed, "write after close"
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 1)}.get(name, default)


def test_a_head_and_its_body_go_out_in_one_write() -> None:
    async def go() -> FakeTransport:
        raw = FakeTransport()
        one = OneWriteTransport(raw, asyncio.get_running_loop())  # type: ignore[arg-type]
        one.write(b"HTTP/1.1 200 OK\r\n\r\n")
        assert raw.writes == []  # held until the body, or the loop's next turn
        one.write(b"body")
        assert raw.writes == [b"HTTP/1.1 200 OK\r\n\r\nbody"]
        await asyncio.sleep(0)
        return raw

    assert asyncio.run(go()).writes == [b"HTTP/1.1 200 OK\r\n\r\nbody"]


def test_a_lone_write_goes_out_at_the_next_turn_and_close_sends_it_first() -> None:
    async def go() -> tuple[list[bytes], list[bytes], bool]:
        loop = asyncio.get_running_loop()
        raw, raw2 = FakeTransport(), FakeTransport()
        one = OneWriteTransport(raw, loop)  # type: ignore[arg-type]
        one.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        await asyncio.sleep(0)
        two = OneWriteTransport(raw2, loop)  # type: ignore[arg-type]
        two.write(b"head")
        two.close()  # a response with "connection: close"
        await asyncio.sleep(0)
        return raw.writes, raw2.writes, raw2.closed

    lone, closed_writes, closed = asyncio.run(go())
    assert lone == [b"HTTP/1.1 204 No Content\r\n\r\n"]
    assert closed_writes == [b"head"] and closed


def test_a_large_body_is_not_copied_onto_the_head_and_order_holds() -> None:
    big = b"x" * COPY_LIMIT

    async def go() -> list[bytes]:
        raw = FakeTransport()
        one = OneWriteTransport(raw, asyncio.get_running_loop())  # type: ignore[arg-type]
        one.write(b"head")
        one.write(big)
        one.writelines([b"chunk", b"1"])
        one.write(b"chunk2")
        await asyncio.sleep(0)
        return raw.writes

    assert asyncio.run(go()) == [b"head", big, b"chunk1chunk2"]


async def _app(scope: Any, receive: Any, send: Any) -> None:
    """Answers by path: a JSON body, no body (204), a streamed body, the request echoed."""
    if scope["type"] != "http":
        return
    path = scope["path"]
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    if path == "/empty":
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        return
    if path == "/stream":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for part in (b"one ", b"two ", b"three"):
            await send({"type": "http.response.body", "body": part, "more_body": True})
            await asyncio.sleep(0.01)
        await send({"type": "http.response.body", "body": b""})
        return
    out = b'{"echo": ' + str(len(body)).encode() + b"}" + b" " * (2 * COPY_LIMIT * (path == "/big"))
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(out)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": out})


@contextlib.contextmanager
def _served(http: Any) -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(
        _app, host="127.0.0.1", port=port, lifespan="off", log_level="warning", http=http
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(10)


REQUESTS = [
    b"GET /json HTTP/1.1\r\nHost: x\r\n\r\n",
    b"POST /json HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
    b"HEAD /json HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /empty HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n",
    b"POST /json HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n",
    b"abc",
    b"GET /json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
]


def _conversation(port: int) -> bytes:
    """The requests above on one keep-alive connection, one at a time; every byte the
    server sent, until it closed the connection."""
    got = b""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        for req in REQUESTS:
            sock.sendall(req)
            time.sleep(0.15)  # each answer (or the 100 Continue) before the next bytes
        while chunk := sock.recv(65536):
            got += chunk
    return re.sub(rb"date: [^\r]*\r\n", b"date: -\r\n", got)


def test_the_wire_bytes_are_uvicorns_own() -> None:
    """Keep-alive, HEAD, 204, a streamed body, a body past the copy limit, 100 Continue
    and Connection: close give byte for byte what uvicorn's httptools protocol gives."""
    with _served(HttpToolsProtocol) as port:
        stock = _conversation(port)
    with _served(OneWriteHttpToolsProtocol) as port:
        one = _conversation(port)
    assert stock.count(b"HTTP/1.1 200 OK") == 7, stock[:500]
    assert b"HTTP/1.1 100 Continue" in stock and b"204 No Content" in stock
    assert one == stock


def test_a_bad_request_is_answered_and_closed_as_before() -> None:
    def ask(port: int) -> bytes:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"GARBAGE\r\n\r\n")
            got = b""
            while chunk := sock.recv(65536):
                got += chunk
        return re.sub(rb"date: [^\r]*\r\n", b"date: -\r\n", got)

    with _served(HttpToolsProtocol) as port:
        stock = ask(port)
    with _served(OneWriteHttpToolsProtocol) as port:
        assert ask(port) == stock
    assert stock.startswith(b"HTTP/1.1 400")


def test_serve_uses_it_when_httptools_is_installed() -> None:
    assert server_options()["http"] is OneWriteHttpToolsProtocol
