"""The template's wire: framed messages with descriptors over one socket."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import pytest

from notebook_host.marimo.isolation.wire import Wire


@pytest.fixture
def pipe() -> Iterator[tuple[int, int]]:
    read_end, write_end = os.pipe()
    yield read_end, write_end
    os.close(read_end)
    os.close(write_end)


def test_wire_carries_messages_and_descriptors(pipe: tuple[int, int]) -> None:
    read_end, write_end = pipe
    left, right = socket.socketpair()
    sender, receiver = Wire(left), Wire(right)
    try:
        big = "x" * 200_000  # more than one recv
        sender.send(("fork", 1, big), (write_end,))
        sender.send(("stop", 7, 2.0))
        (kind, request, payload), fds = receiver.recv()
        assert (kind, request, payload == big, len(fds)) == ("fork", 1, True, 1)
        os.write(fds[0], b"!")  # a duplicate of the pipe's write end
        assert os.read(read_end, 1) == b"!"
        os.close(fds[0])
        assert receiver.recv() == (("stop", 7, 2.0), [])
        assert not receiver.pending()
        sender.close()
        with pytest.raises(EOFError):
            receiver.recv()
    finally:
        receiver.close()


def test_descriptors_go_with_their_own_message(pipe: tuple[int, int]) -> None:
    """A read that brings a message without descriptors and the start of one with them."""
    read_end, write_end = pipe
    left, right = socket.socketpair()
    sender, receiver = Wire(left), Wire(right)
    try:
        sender.send(("stop", 7, 2.0))
        sender.send(("fork", 1, "a"), (write_end,))
        sender.send(("fork", 2, "b"), (write_end,))
        sender.send(("stop", 8, 2.0))
        received = [receiver.recv() for _ in range(4)]
        assert [(message, len(fds)) for message, fds in received] == [
            (("stop", 7, 2.0), 0),
            (("fork", 1, "a"), 1),
            (("fork", 2, "b"), 1),
            (("stop", 8, 2.0), 0),
        ]
        for _, fds in received:
            for fd in fds:
                os.write(fd, b"!")
                os.close(fd)
        assert os.read(read_end, 2) == b"!!"
    finally:
        sender.close()
        receiver.close()
