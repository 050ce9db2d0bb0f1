"""Replay of widget values: bounds, a changed notebook, owners; memory and a real Redis."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from devtools.redis import RedisServer
from notebook_host.marimo.protocol import SET_UI_ELEMENT_VALUE
from notebook_host.runtime import replay
from notebook_host.workers import records, replay_store, state

ALICE, BOB = "owner-alice", "owner-bob"


def body(**values: object) -> bytes:
    return json.dumps({"objectIds": list(values), "values": list(values.values())}).encode()


def small(**extra: object) -> object:
    return override_settings(
        NOTEBOOK_HOST={"REPLAY_MAX_VALUES": 3, "REPLAY_MAX_BYTES": 100, **extra}
    )


class TestChanges:
    def test_only_set_ui_element_value_sets_values(self) -> None:
        assert replay.changes(SET_UI_ELEMENT_VALUE, body(a=7)) == [("a", "7")]
        assert replay.changes("api/kernel/run", body(a=7)) is None

    def test_a_body_marimo_would_refuse_records_nothing(self) -> None:
        bad = json.dumps({"objectIds": [1], "values": [7]}).encode()
        assert replay.changes(SET_UI_ELEMENT_VALUE, bad) is None
        uneven = json.dumps({"objectIds": ["a", "b"], "values": [7]}).encode()
        assert replay.changes(SET_UI_ELEMENT_VALUE, uneven) is None


class TestPlan:
    def test_the_owner_gets_the_values_and_a_notice(self) -> None:
        recorded = replay.Recorded(owner=ALICE, code="c1", values={"a": "7", "b": '"x"'})
        restored = replay.plan(recorded, ALICE, "c1")
        assert restored == {"ids": ["a", "b"], "values": [7, "x"], "notice": replay.RESTORED}

    def test_bob_cannot_replay_alices_values(self) -> None:
        recorded = replay.Recorded(owner=ALICE, code="c1", values={"a": "7"})
        assert replay.plan(recorded, BOB, "c1") is None
        assert replay.plan(recorded, None, "c1") is None

    def test_a_changed_notebook_starts_fresh_saying_why(self) -> None:
        recorded = replay.Recorded(owner=ALICE, code="c1", values={"a": "7"})
        assert replay.plan(recorded, ALICE, "c2") == {
            "ids": [],
            "values": [],
            "notice": replay.CHANGED,
        }

    @small()
    def test_more_values_than_the_bound_start_fresh(self) -> None:
        recorded = replay.Recorded(owner=ALICE, code="c", values={k: "1" for k in "abcd"})
        assert replay.plan(recorded, ALICE, "c")["notice"] == replay.TOO_LARGE  # type: ignore[index]
        recorded.values.pop("d")
        assert replay.plan(recorded, ALICE, "c")["values"] == [1, 1, 1]  # type: ignore[index]

    @small()
    def test_more_bytes_than_the_bound_start_fresh(self) -> None:
        recorded = replay.Recorded(owner=ALICE, code="c", values={"a": json.dumps("x" * 99)})
        assert replay.plan(recorded, ALICE, "c")["notice"] == replay.TOO_LARGE  # type: ignore[index]

    @pytest.mark.parametrize("value", [0, -1, "200", True, None])
    def test_a_bad_bound_is_a_clear_error(self, value: object) -> None:
        with small(REPLAY_MAX_VALUES=value), pytest.raises(ImproperlyConfigured, match="positive"):
            replay.bounds()


class TestMemoryStore:
    def test_bob_cannot_write_into_alices_session(self) -> None:
        store = replay.MemoryReplayStore()
        assert store.record("s1", ALICE, "c", [("a", "7")])
        assert not store.record("s1", BOB, "c", [("a", "99")])
        assert store.get("s1").values == {"a": "7"}  # type: ignore[union-attr]

    @small()
    def test_going_over_a_bound_keeps_nothing_more(self) -> None:
        store = replay.MemoryReplayStore()
        store.record("s1", ALICE, "c", [(k, "1") for k in "abcd"])
        recorded = store.get("s1")
        assert recorded is not None and recorded.over == "values" and not recorded.values
        store.record("s1", ALICE, "c", [("a", "2")])
        assert replay.plan(store.get("s1"), ALICE, "c")["notice"] == replay.TOO_LARGE  # type: ignore[index]

    def test_values_replay_in_the_order_set(self) -> None:
        store = replay.MemoryReplayStore()
        store.record("s1", ALICE, "c", [("a", "1"), ("b", "2")])
        store.record("s1", ALICE, "c", [("a", "3")])
        assert replay.plan(store.get("s1"), ALICE, "c")["ids"] == ["b", "a"]  # type: ignore[index]

    def test_a_new_code_hash_starts_a_new_log(self) -> None:
        store = replay.MemoryReplayStore()
        store.record("s1", ALICE, "c1", [("a", "7")])
        store.record("s1", ALICE, "c2", [("b", "8")])
        assert store.get("s1").values == {"b": "8"}  # type: ignore[union-attr]

    def test_the_code_hash_follows_the_file(self, tmp_path: Path) -> None:
        path = tmp_path / "n.py"
        path.write_text("a = 1\n")
        first = replay.code_hash(path)
        path.write_text("a = 2\n")
        assert replay.code_hash(path, path.stat().st_mtime_ns + 1) != first


@pytest.fixture
def cluster_redis(redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(state, "client", lambda: aioredis.from_url(redis_server.url))
    replay_store._scripts.clear()
    return redis_server.url


def entry(session_id: str, owner: str, code: str = "c1") -> records.WorkerRecord:
    return records.WorkerRecord(
        session_id=session_id,
        worker="w",
        channel="ch",
        owner=owner,
        limit_key=owner,
        route={},
        prefix="/p",
        page_query=b"",
        code_hash=code,
    )


@pytest.mark.asyncio
class TestRedisStore:
    async def test_values_come_back_for_their_owner_only(self, cluster_redis: str) -> None:
        assert await replay_store.record(entry("r1", ALICE), SET_UI_ELEMENT_VALUE, body(a=5)) == 1
        await replay_store.record(entry("r1", ALICE), SET_UI_ELEMENT_VALUE, body(a=7, b="x"))
        restored = await replay_store.plan("r1", ALICE, "c1")
        assert restored is not None and dict(
            zip(restored["ids"], restored["values"], strict=True)
        ) == {
            "a": 7,
            "b": "x",
        }
        # bob, with alice's session id: nothing written, nothing replayed
        assert await replay_store.record(entry("r1", BOB), SET_UI_ELEMENT_VALUE, body(a=9)) == -1
        assert await replay_store.plan("r1", BOB, "c1") is None
        assert (await replay_store.recorded("r1")).values["a"] == "7"  # type: ignore[union-attr]

    async def test_values_replay_in_the_order_set(self, cluster_redis: str) -> None:
        for name in ("z", "a", "m", "z"):
            await replay_store.record(entry("r6", ALICE), SET_UI_ELEMENT_VALUE, body(**{name: 1}))
        assert (await replay_store.plan("r6", ALICE, "c1"))["ids"] == ["a", "m", "z"]  # type: ignore[index]

    async def test_a_changed_notebook_starts_fresh(self, cluster_redis: str) -> None:
        await replay_store.record(entry("r2", ALICE, "c1"), SET_UI_ELEMENT_VALUE, body(a=5))
        assert (await replay_store.plan("r2", ALICE, "c2"))["notice"] == replay.CHANGED  # type: ignore[index]

    @small()
    async def test_over_the_value_bound(self, cluster_redis: str) -> None:
        for name in "abc":
            assert (
                await replay_store.record(
                    entry("r3", ALICE), SET_UI_ELEMENT_VALUE, body(**{name: 1})
                )
                == 1
            )
        assert await replay_store.record(entry("r3", ALICE), SET_UI_ELEMENT_VALUE, body(d=1)) == 0
        assert await replay_store.record(entry("r3", ALICE), SET_UI_ELEMENT_VALUE, body(a=2)) == 0
        raw = await aioredis.from_url(cluster_redis).hgetall(replay_store.key("r3"))
        assert not [k for k in raw if k.startswith(b"v:")]  # nothing more is kept
        assert (await replay_store.plan("r3", ALICE, "c1"))["notice"] == replay.TOO_LARGE  # type: ignore[index]

    @small()
    async def test_over_the_byte_bound_counts_overwrites_once(self, cluster_redis: str) -> None:
        for _ in range(5):  # the same value set again and again stays 60 bytes
            await replay_store.record(entry("r4", ALICE), SET_UI_ELEMENT_VALUE, body(a="x" * 58))
        assert (await replay_store.plan("r4", ALICE, "c1"))["notice"] == replay.RESTORED  # type: ignore[index]
        await replay_store.record(entry("r4", ALICE), SET_UI_ELEMENT_VALUE, body(b="y" * 58))
        assert (await replay_store.plan("r4", ALICE, "c1"))["notice"] == replay.TOO_LARGE  # type: ignore[index]

    async def test_replay_off_keeps_nothing(self, cluster_redis: str) -> None:
        with override_settings(NOTEBOOK_HOST={"REPLAY": False}):
            assert (
                await replay_store.record(entry("r5", ALICE), SET_UI_ELEMENT_VALUE, body(a=1))
                is None
            )
        assert await replay_store.recorded("r5") is None
