"""Length-prefixed pickled messages, with file descriptors, over a Unix socket.

The template and the server speak this on one socketpair; a fork request
carries the session's socket as SCM_RIGHTS, so no listener or address exists.

A read can bring the end of one message and the start of the next, so the
descriptors a read brings are not simply the next message's. Linux ends a
read on a stream socket right after the segment that carried descriptors,
and a sender's descriptors ride on the first segment of its frame, so the
last byte of that read lies inside the frame they came with: each batch is
kept with that byte's offset in the stream and given to the message whose
frame holds it.
"""

from __future__ import annotations

import pickle
import socket
import struct
import threading
from collections import deque
from typing import Any

_HEADER = struct.Struct("!I")
_MAX_FDS = 8


class Wire:
    """One end of a framed channel; sends are locked, receives are one reader's."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._buffer = bytearray()
        #: Stream offset of ``_buffer[0]``.
        self._offset = 0
        #: (stream offset of the last byte of the read that brought them, descriptors).
        self._fds: deque[tuple[int, list[int]]] = deque()
        self._send_lock = threading.Lock()

    def fileno(self) -> int:
        return self.sock.fileno()

    def send(self, message: Any, fds: tuple[int, ...] = ()) -> None:
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        frame = _HEADER.pack(len(data)) + data
        with self._send_lock:
            if fds:
                sent = socket.send_fds(self.sock, [frame], list(fds))
                if sent < len(frame):
                    self.sock.sendall(frame[sent:])
            else:
                self.sock.sendall(frame)

    def _fill(self) -> None:
        data, fds, _flags, _addr = socket.recv_fds(self.sock, 65536, _MAX_FDS)
        if not data:
            raise EOFError("the other end closed")
        if fds:
            self._fds.append((self._offset + len(self._buffer) + len(data) - 1, fds))
        self._buffer += data

    def pending(self) -> bool:
        """True when a whole message is already buffered (select will not say so)."""
        if len(self._buffer) < _HEADER.size:
            return False
        size: int = _HEADER.unpack_from(self._buffer)[0]
        return len(self._buffer) >= _HEADER.size + size

    def recv(self) -> tuple[Any, list[int]]:
        """The next message and the descriptors that came with it (EOFError at end)."""
        while len(self._buffer) < _HEADER.size:
            self._fill()
        (size,) = _HEADER.unpack_from(self._buffer)
        while len(self._buffer) < _HEADER.size + size:
            self._fill()
        data = bytes(self._buffer[_HEADER.size : _HEADER.size + size])
        del self._buffer[: _HEADER.size + size]
        self._offset += _HEADER.size + size
        fds: list[int] = []
        while self._fds and self._fds[0][0] < self._offset:
            fds += self._fds.popleft()[1]
        return pickle.loads(data), fds

    def close(self) -> None:
        self.sock.close()
