"""Placement against a real (throwaway) Redis: the script's choice, and its atomicity.

Two fronts placing at once must not both take a worker's last slot: the
choice and the reservation are one Redis script (``scripts.PLACE``). These
tests write heartbeats as workers do and place as fronts do.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import pytest
import redis as redis_sync

from devtools.redis import RedisServer
from notebook_host.workers import state
from notebook_host.workers.records import WorkerInfo

pytestmark = pytest.mark.cluster


@pytest.fixture
async def redis(redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[None]:
    """An empty Redis that :mod:`state` talks to."""
    redis_sync.Redis.from_url(redis_server.url).flushall()
    monkeypatch.setattr(state, "redis_url", lambda: redis_server.url)
    yield
    await state.client().aclose()


async def announce(name: str, capacity: int, sessions: int = 0, **more: object) -> None:
    info = WorkerInfo(name, f"channel.{name}", sessions=sessions, capacity=capacity, **more)  # type: ignore[arg-type]
    await state.beat(info, 30.0, [])


async def placed_on(count: int, prefix: str = "s") -> list[str | None]:
    """Place ``count`` new sessions one after another: the workers chosen."""
    chosen = [await state.place(f"{prefix}{i}") for i in range(count)]
    return [w.name if w else None for w in chosen]


async def test_the_least_loaded_worker_is_chosen_and_its_slot_reserved(redis: None) -> None:
    await announce("w1", capacity=3, sessions=1)
    await announce("w2", capacity=3)
    assert await placed_on(5) == ["w2", "w1", "w2", "w1", "w2"]
    assert await state.place("s5") is None  # every worker is full
    assert {w.name: w.sessions for w in await state.workers()} == {"w1": 3, "w2": 3}


async def test_two_fronts_at_once_fill_the_whole_capacity_and_no_more(
    redis: None, redis_server: RedisServer
) -> None:
    """Twice the capacity plus one, placed at once over two connections (two fronts)."""
    await announce("w1", capacity=5)
    await announce("w2", capacity=5)

    def front(ids: list[str]) -> list[str | None]:
        async def place_all() -> list[str | None]:
            found = await asyncio.gather(*(state.place(i) for i in ids))
            await state.client().aclose()
            return [w.name if w else None for w in found]

        return asyncio.run(place_all())

    ids = [f"s{i}" for i in range(11)]
    results = await asyncio.gather(
        asyncio.to_thread(front, ids[0::2]), asyncio.to_thread(front, ids[1::2])
    )
    counts = Counter(name for chosen in results for name in chosen)
    assert counts == {"w1": 5, "w2": 5, None: 1}, counts


async def test_idle_kernels_leave_room(redis: None) -> None:
    """A worker full of closed tabs' kernels takes as many new sessions (it closes them)."""
    await announce("w1", capacity=2, sessions=2, idle=2)
    await announce("w2", capacity=2, sessions=2, idle=1)
    assert await placed_on(4) == ["w1", "w1", "w2", None]


async def test_draining_and_dead_workers_take_nothing(
    redis: None, redis_server: RedisServer
) -> None:
    await announce("w1", capacity=5, draining=True)
    await announce("w2", capacity=5)
    redis_sync.Redis.from_url(redis_server.url).delete(state.PREFIX + "worker:w2")  # expired
    assert await state.place("s1") is None
    assert [w.name for w in await state.workers()] == ["w1"]
    members = redis_sync.Redis.from_url(redis_server.url).smembers(state.PREFIX + "workers")
    assert members == {b"w1"}


async def test_a_reconnect_goes_to_the_kernel_it_resumes(redis: None) -> None:
    await announce("w1", capacity=1, sessions=1)
    await announce("w2", capacity=5)
    resumed = await state.place("s1", holder="w1")
    assert resumed is not None and resumed.name == "w1"  # full, but its kernel is there
    await announce("w1", capacity=1, sessions=1, draining=True)
    moved = await state.place("s1", holder="w1")
    assert moved is not None and moved.name == "w2"  # a draining holder: a fresh kernel


async def test_a_beat_that_counts_a_session_drops_its_reservation(redis: None) -> None:
    await announce("w1", capacity=2)
    assert await placed_on(2) == ["w1", "w1"]
    await state.beat(WorkerInfo("w1", "c", sessions=1, capacity=2), 30.0, ["s0"])
    assert [w.sessions for w in await state.workers()] == [2]  # s1: still reserved
    await state.beat(WorkerInfo("w1", "c", sessions=2, capacity=2), 30.0, ["s1"])
    assert [w.sessions for w in await state.workers()] == [2]
    await state.beat(WorkerInfo("w1", "c", sessions=0, capacity=2), 30.0, [])
    assert await placed_on(2, "t") == ["w1", "w1"]


async def test_a_reservation_runs_out(redis: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """A session placed and never started (its front died) stops counting."""
    monkeypatch.setattr(state, "RESERVATION_SECONDS", 0.2)
    await announce("w1", capacity=1)
    assert await placed_on(2) == ["w1", None]
    await asyncio.sleep(0.3)
    assert await placed_on(1, "t") == ["w1"]


async def test_the_fronts_room_agrees_with_the_script(redis: None) -> None:
    """``least_loaded`` (the waiting page's retry) says what the script would do."""
    await announce("w1", capacity=4, sessions=4, idle=1)
    await announce("w2", capacity=4, sessions=2)
    await announce("w3", capacity=9, draining=True)
    for _ in range(4):
        expected = state.least_loaded(await state.workers())
        chosen = await state.place(f"s{_}")
        assert (chosen and chosen.name) == (expected and expected.name)
    assert chosen is None
