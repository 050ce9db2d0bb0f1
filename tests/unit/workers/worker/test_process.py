"""The worker's own bookkeeping, without processes: heartbeat counts and silent fronts."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from notebook_host.runtime.notebook_apps import apps
from notebook_host.workers import protocol, records, settings, state
from notebook_host.workers.worker.process import Worker
from notebook_host.workers.worker.pump import Pump


class FakeApp:
    """Stands in for a MarimoApp: only what session counting asks."""

    def __init__(self, ids: set[str]) -> None:
        self.ids = ids

    def session_ids(self) -> list[str]:
        return sorted(self.ids)

    def has_session(self, session_id: str) -> bool:
        return session_id in self.ids


@pytest.fixture
def beats(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, list[str]]]:
    """What the heartbeat thread would send: (session count, reservations dropped)."""
    sent: list[tuple[int, list[str]]] = []

    def beat_sync(info: records.WorkerInfo, expiry: float, counted: list[str]) -> None:
        sent.append((info.sessions, counted))

    monkeypatch.setattr(state, "beat_sync", beat_sync)
    monkeypatch.setattr(apps, "loaded", lambda: [])
    return sent


def start_session(node: Worker, session_id: str) -> None:
    """What ``_connect`` records when a placed session's socket arrives."""
    node.kernels[session_id] = FakeApp({session_id})  # type: ignore[assignment]
    node.uncounted.add(session_id)


def test_a_beat_drops_only_reservations_its_count_includes(beats: list) -> None:
    node = Worker("w1", capacity=4, drain_timeout=1)
    node._snapshot()  # the loop counted: nothing yet
    start_session(node, "s1")  # then a placed session's socket came
    node._beat_latest()  # the thread sends the earlier count...
    assert beats == [(0, [])]  # ...so s1's reservation must keep counting
    assert node.uncounted == {"s1"}
    node._snapshot()
    node._beat_latest()
    assert beats[-1] == (1, ["s1"]) and node.uncounted == set()


def test_a_failed_beat_keeps_the_reservations(monkeypatch: pytest.MonkeyPatch) -> None:
    def down(*_: Any) -> None:
        raise state.ClusterUnavailable(OSError("refused"))

    monkeypatch.setattr(state, "beat_sync", down)
    monkeypatch.setattr(apps, "loaded", lambda: [])
    node = Worker("w1", capacity=4, drain_timeout=1)
    start_session(node, "s1")
    node._snapshot()
    node._beat_latest()
    assert node.uncounted == {"s1"}


def test_a_stuck_loop_stops_beating(beats: list) -> None:
    node = Worker("w1", capacity=4, drain_timeout=1)
    node._snapshot()
    info, _, covered = node._latest  # type: ignore[misc]
    node._latest = (info, time.monotonic() - 3 * settings.expiry() - 1, covered)
    node._beat_latest()
    assert beats == []


def test_a_pump_whose_front_went_silent_is_disconnected(beats: list) -> None:
    node = Worker("w1", capacity=4, drain_timeout=1)
    quiet, talking = Pump(node, "a", "s1", "front"), Pump(node, "b", "s2", "front")
    node.pumps = {"a": quiet, "b": talking}
    quiet.heard -= 3 * settings.expiry() + protocol.PUMP_SILENCE * settings.heartbeat()
    node._forget_silent_pumps()
    assert list(node.pumps) == ["b"]
    assert quiet.closed and quiet.queue.get_nowait() == {
        "type": "websocket.disconnect",
        "code": 1001,
    }
    assert talking.queue.empty() and not talking.closed


def test_a_ping_keeps_a_pump(beats: list) -> None:
    node = Worker("w1", capacity=4, drain_timeout=1)
    pump = Pump(node, "a", "s1", "front")
    node.pumps = {"a": pump}
    pump.heard = 0.0
    node._dispatch({"type": protocol.WS_PING, "stream": "a"})
    node._forget_silent_pumps()
    assert list(node.pumps) == ["a"]


class Sent:
    """A worker's layer sends, recorded instead of published."""

    def __init__(self, node: Worker, ok: bool = True) -> None:
        self.messages: list[dict[str, Any]] = []
        self.ok = ok
        node.send = self.send  # type: ignore[method-assign]

    async def send(self, channel: str, message: dict[str, Any]) -> bool:
        self.messages.append(message)
        await asyncio.sleep(0)  # a real publish yields to the loop
        return self.ok


def frames_of(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for message in messages:
        out.extend(message["frames"] if message.get("event") == protocol.BATCH else [message])
    return out


async def test_frames_that_queue_up_go_out_together_in_order() -> None:
    node = Worker("w1", capacity=4, drain_timeout=1)
    sent = Sent(node)
    pump = Pump(node, "a", "s1", "front")
    await pump.to_front({"type": "websocket.accept"})
    for i in range(5):  # marimo sends without waiting for the layer
        await pump.to_front({"type": "websocket.send", "text": f"m{i}"})
    await pump.close(1000, "bye")
    assert len(sent.messages) < 7  # batched
    into = protocol.Incoming()
    joined = [into.accept(frame, "text") for frame in frames_of(sent.messages)]
    assert [f["event"] for f in joined] == ["accept"] + ["send"] * 5 + ["close"]
    assert [f.get("text") for f in joined[1:6]] == [f"m{i}" for i in range(5)]


async def test_a_large_frame_goes_alone() -> None:
    node = Worker("w1", capacity=4, drain_timeout=1)
    sent = Sent(node)
    pump = Pump(node, "a", "s1", "front")
    await pump.to_front({"type": "websocket.send", "text": "x" * protocol.CHUNK})
    await pump.to_front({"type": "websocket.send", "text": "small"})
    await pump.sent()
    assert all(len(json.dumps(m)) < protocol.CHUNK + 4096 for m in sent.messages)
    assert [f.get("text", "")[:5] for f in frames_of(sent.messages)] == ["xxxxx", "small"]


async def test_a_failed_send_ends_the_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(asyncio, "sleep", _no_sleep)
    node = Worker("w1", capacity=4, drain_timeout=1)
    sent = Sent(node, ok=False)
    pump = Pump(node, "a", "s1", "front")
    await pump.to_front({"type": "websocket.send", "text": "lost"})
    await pump.sent()
    assert pump.closed and pump.outbox == []
    assert pump.queue.get_nowait()["type"] == "websocket.disconnect"
    assert sent.messages[-1]["event"] == "close"
    assert sent.messages[-1]["code"] == protocol.CLOSE_MESSAGE_LOST


_real_sleep = asyncio.sleep


async def _no_sleep(_: float) -> None:
    await _real_sleep(0)


class Kernels(FakeApp):
    """An app whose kernels a connect may close, and whose sockets stay open."""

    def close_session(self, session_id: str) -> bool:
        self.ids.discard(session_id)
        return True

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.ids.add(scope["session"])
        await asyncio.Event().wait()


async def test_connects_at_once_close_an_idle_kernel_each(
    beats: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Full of closed tabs' kernels, a worker takes as many new sessions as it announced.

    Each connect closes an idle kernel, even while an earlier one's app is
    still loading, so the worker never holds more kernels than its capacity.
    """
    node = Worker("w1", capacity=2, drain_timeout=1)
    app = Kernels({"old1", "old2"})
    node.kernels = {"old1": app, "old2": app}  # type: ignore[dict-item]
    info = node.info()
    assert (info.sessions, info.idle, info.free) == (2, 2, 2)

    async def load(route: dict[str, str], session_id: str | None) -> Kernels:
        await asyncio.sleep(0.05)  # the notebook's app loads
        return app

    monkeypatch.setattr(node, "_app", load)
    Sent(node)
    connects = [
        {
            "stream": s,
            "front": "f",
            "session_id": s,
            "route": {"path": "/x/"},
            "scope": {"session": s},
        }
        for s in ("new1", "new2")
    ]
    await asyncio.gather(*(node._connect(c) for c in connects))
    await asyncio.sleep(0)
    assert set(node.pumps) == {"new1", "new2"}  # both accepted
    assert node.session_count() == 2 and node.idle_count() == 0
    assert node.uncounted == {"new1", "new2"}
    for pump in node.pumps.values():
        assert pump.task is not None
        pump.task.cancel()
