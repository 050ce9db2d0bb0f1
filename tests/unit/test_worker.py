"""The worker's own bookkeeping, without processes: heartbeat counts and silent fronts."""

from __future__ import annotations

import time
from typing import Any

import pytest

from notebook_host.workers import state, worker
from notebook_host.workers.worker import Pump, Worker


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

    def beat_sync(info: state.WorkerInfo, expiry: float, counted: list[str]) -> None:
        sent.append((info.sessions, counted))

    monkeypatch.setattr(state, "beat_sync", beat_sync)
    monkeypatch.setattr(worker.apps, "loaded", lambda: [])
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
    monkeypatch.setattr(worker.apps, "loaded", lambda: [])
    node = Worker("w1", capacity=4, drain_timeout=1)
    start_session(node, "s1")
    node._snapshot()
    node._beat_latest()
    assert node.uncounted == {"s1"}


def test_a_stuck_loop_stops_beating(beats: list) -> None:
    node = Worker("w1", capacity=4, drain_timeout=1)
    node._snapshot()
    info, _, covered = node._latest  # type: ignore[misc]
    node._latest = (info, time.monotonic() - 3 * worker.settings.expiry() - 1, covered)
    node._beat_latest()
    assert beats == []


def test_a_pump_whose_front_went_silent_is_disconnected(beats: list) -> None:
    node = Worker("w1", capacity=4, drain_timeout=1)
    quiet, talking = Pump(node, "a", "s1", "front"), Pump(node, "b", "s2", "front")
    node.pumps = {"a": quiet, "b": talking}
    quiet.heard -= 3 * worker.settings.expiry() + worker.PUMP_SILENCE * worker.settings.heartbeat()
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
    node._dispatch({"type": worker.WS_PING, "stream": "a"})
    node._forget_silent_pumps()
    assert list(node.pumps) == ["a"]
