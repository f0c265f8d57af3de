"""Messages between the parent and its worker processes: length-prefixed pickles on pipes.

Pipes of their own, not stdin/stdout: a `python` target that prints must not corrupt
the stream. Pickle is safe here because both ends are this evalkit, started by the
parent on this machine; nothing else can write to these pipes.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import struct
from typing import Any, BinaryIO

_HEADER = struct.Struct("<I")


def frame(message: Any) -> bytes:
    """One message, ready to write."""
    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(body)) + body


async def receive(reader: asyncio.StreamReader) -> Any:
    """The next message; raises asyncio.IncompleteReadError when the other end is gone."""
    header = await reader.readexactly(_HEADER.size)
    (size,) = _HEADER.unpack(header)
    return pickle.loads(await reader.readexactly(size))


class _Writing(asyncio.BaseProtocol):
    """Knows when the write end is closed, after its buffer went out."""

    def __init__(self) -> None:
        self.gone: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.gone.done():
            self.gone.set_result(None)


def _files(read_fd: int, write_fd: int) -> tuple[BinaryIO, BinaryIO]:
    # unbuffered: asyncio's transports do their own buffering
    return os.fdopen(read_fd, "rb", buffering=0), os.fdopen(write_fd, "wb", buffering=0)


async def open_pipes(
    read_fd: int, write_fd: int
) -> tuple[asyncio.StreamReader, asyncio.WriteTransport]:
    """asyncio ends for a pair of pipe file descriptors."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**30)
    read_file, write_file = _files(read_fd, write_fd)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), read_file)
    transport, _ = await loop.connect_write_pipe(_Writing, write_file)
    return reader, transport


async def close(transport: asyncio.WriteTransport) -> None:
    """Close the write end once everything written has gone out."""
    protocol = transport.get_protocol()
    transport.close()
    if isinstance(protocol, _Writing):
        await protocol.gone
