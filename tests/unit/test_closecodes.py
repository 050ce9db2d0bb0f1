"""notebook_host.closecodes: every code sent is one autobahn sends."""

from __future__ import annotations

import pytest

from notebook_host import closecodes


def sendable(code: int) -> bool:
    """autobahn's rule for a close code a server may send."""
    return code == 1000 or 3000 <= code <= 4999


@pytest.mark.parametrize(
    ("code", "sent"),
    [
        (1000, 1000),
        (None, 1000),
        (1001, 4101),
        (1003, 4103),
        (1008, 4108),
        (1011, 4111),
        (4004, 4004),
        (3003, 3003),
        (999, 4111),
        (5000, 4111),
    ],
)
def test_for_browser(code: int | None, sent: int) -> None:
    assert closecodes.for_browser(code) == sent
    assert sendable(sent)


def test_every_named_code_is_sendable_as_it_is_or_once_mapped() -> None:
    codes = {name: value for name, value in vars(closecodes).items() if name.isupper()}
    codes.pop("BROWSER_OFFSET")
    for name, value in codes.items():
        assert sendable(closecodes.for_browser(value)), name
    # the application codes are distinct: a client can tell each reason apart
    mapped = [closecodes.for_browser(v) for v in codes.values()]
    assert len(set(mapped)) == len(mapped)


def test_close_message_keeps_a_short_reason() -> None:
    message = closecodes.close_message(1011, "x" * 300)
    assert message == {"type": "websocket.close", "code": 4111, "reason": "x" * 120}
    assert "reason" not in closecodes.close_message(1000)
