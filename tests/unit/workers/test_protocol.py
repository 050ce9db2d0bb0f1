"""Worker kernels without processes: protocol numbering and chunks, placement, settings checks."""

from __future__ import annotations

import asyncio
import json

import pytest
from channels.layers import get_channel_layer
from django.test import override_settings

from notebook_host.workers import protocol, settings
from notebook_host.workers.front import forwarding
from notebook_host.workers.records import WorkerInfo
from notebook_host.workers.state import least_loaded

REDIS_LAYER = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": ["redis://10.0.0.5:6379/2"]},
    }
}


class TestProtocol:
    def test_large_payloads_are_cut_and_joined(self) -> None:
        text = "x" * (protocol.CHUNK * 2 + 10)
        out, into = protocol.Outgoing(), protocol.Incoming()
        frames = out.messages({"type": protocol.WS_OUT}, "text", text)
        assert len(frames) == 3
        assert all(len(f["text"]) <= protocol.CHUNK for f in frames)
        assert [into.accept(f, "text") for f in frames[:2]] == [None, None]
        assert into.accept(frames[2], "text")["text"] == text

    def test_bytes_are_joined_as_bytes(self) -> None:
        body = bytes(range(256)) * 5000
        out, into = protocol.Outgoing(), protocol.Incoming()
        *head, last = out.messages({}, "body", body)
        for frame in head:
            into.accept(frame, "body")
        assert into.accept(last, "body")["body"] == body

    def test_a_missing_message_is_a_gap(self) -> None:
        out, into = protocol.Outgoing(), protocol.Incoming()
        first, _lost, third = (out.message({"n": i}) for i in range(3))
        into.accept(first, "text")
        with pytest.raises(protocol.SequenceGap, match="expected message 1, got 2"):
            into.accept(third, "text")

    def test_scope_travels_without_state(self) -> None:
        scope = {
            "type": "websocket",
            "path": "/p/ws",
            "headers": [(b"host", b"x")],
            "client": ("1.2.3.4", 5),
            "state": {"not": "serialisable"},
            "notebook_host.page": {"path": "/p/", "query_string": b""},
        }
        wired = protocol.wire_scope(scope, "notebook_host.page")
        assert "state" not in wired
        back = protocol.asgi_scope(wired)
        assert back["headers"] == [(b"host", b"x")] and back["client"] == ("1.2.3.4", 5)
        assert back["state"] == {} and back["notebook_host.page"]["path"] == "/p/"


class TestPlacement:
    def test_least_loaded_skips_full_and_draining(self) -> None:
        workers = [
            WorkerInfo("a", "ca", sessions=3, capacity=10),
            WorkerInfo("b", "cb", sessions=1, capacity=10, draining=True),
            WorkerInfo("c", "cc", sessions=2, capacity=2),
            WorkerInfo("d", "cd", sessions=4, capacity=10),
        ]
        chosen = least_loaded(workers)
        assert chosen is not None and chosen.name == "a"
        assert least_loaded([workers[1], workers[2]]) is None
        assert least_loaded([]) is None

    def test_idle_kernels_leave_room(self) -> None:
        # full of kernels waiting out their TTL: the worker closes them for a new one
        idle = WorkerInfo("a", "ca", sessions=10, capacity=10, idle=7)
        busy = WorkerInfo("b", "cb", sessions=5, capacity=10)
        assert idle.free == 7 and least_loaded([idle, busy]) is idle
        assert least_loaded([WorkerInfo("c", "cc", sessions=10, capacity=10)]) is None

    def test_a_heartbeat_with_unknown_fields_still_reads(self) -> None:
        raw = json.dumps({"name": "a", "channel": "ca", "sessions": 1, "capacity": 2, "new": 1})
        assert WorkerInfo.loads(raw) == WorkerInfo("a", "ca", sessions=1, capacity=2)


class TestSettings:
    def ids(self) -> set[str]:
        return {ident for ident, _, _ in settings.problems()}

    def test_local_is_the_default_and_valid(self) -> None:
        assert settings.kernels() == "local" and not self.ids()

    @override_settings(NOTEBOOK_HOST={"KERNELS": "threads"})
    def test_unknown_mode(self) -> None:
        assert self.ids() == {"notebook_host.E101"}

    @override_settings(NOTEBOOK_HOST={"KERNELS": "workers"}, CHANNEL_LAYERS={})
    def test_workers_need_a_redis_layer(self) -> None:
        assert "notebook_host.E104" in self.ids()

    @override_settings(NOTEBOOK_HOST={"KERNELS": "workers"}, CHANNEL_LAYERS=REDIS_LAYER)
    def test_redis_url_comes_from_the_layer(self) -> None:
        assert not self.ids()
        assert settings.redis_url() == "redis://10.0.0.5:6379/2"

    @override_settings(
        NOTEBOOK_HOST={"KERNELS": "workers", "REDIS_URL": "http://x"}, CHANNEL_LAYERS=REDIS_LAYER
    )
    def test_bad_redis_url(self) -> None:
        assert self.ids() == {"notebook_host.E105"}

    @override_settings(NOTEBOOK_HOST={"WORKER_HEARTBEAT": 5, "WORKER_EXPIRY": 5})
    def test_expiry_must_outlast_the_heartbeat(self) -> None:
        assert self.ids() == {"notebook_host.E103"}

    @override_settings(NOTEBOOK_HOST={"WORKER_HEARTBEAT": "2", "WORKER_MAX_SESSIONS": 0})
    def test_numbers(self) -> None:
        assert self.ids() == {"notebook_host.E102"}
        assert len(settings.problems()) == 2

    def test_worker_command_refuses_local_kernels(self) -> None:
        from django.core.management import CommandError, call_command

        with pytest.raises(CommandError, match="'local'"):
            call_command("notebook_worker")


class TestReplyHeaders:
    """A worker's answer reaches the browser with only the headers a download or API needs."""

    RAW = [
        [b"Content-Type", b"text/csv"],
        [b"content-disposition", b'attachment; filename="x.csv"'],
        [b"set-cookie", b"sessionid=planted; Path=/"],
        [b"Access-Control-Allow-Origin", b"*"],
        [b"location", b"https://evil.test/"],
        [b"etag", b'"abc"'],
    ]

    def test_only_the_allow_list_passes(self) -> None:
        kept = protocol.reply_headers(self.RAW)
        assert [name.lower() for name, _ in kept] == [
            b"content-type",
            b"content-disposition",
            b"etag",
        ]

    @override_settings(
        CHANNEL_LAYERS={"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    )
    async def test_a_forwarded_answer_drops_a_planted_cookie(self) -> None:
        layer = get_channel_layer()
        worker_channel = await layer.new_channel()

        async def fake_worker() -> None:
            request = await layer.receive(worker_channel)
            await layer.send(
                request["reply"],
                {
                    "type": protocol.HTTP_REPLY,
                    "rid": request["rid"],
                    "seq": 0,
                    "event": protocol.WHOLE,
                    "status": 200,
                    "headers": self.RAW,
                    "body": b"a,b\n",
                },
            )

        answering = asyncio.create_task(fake_worker())
        response = await forwarding.request_worker(worker_channel, {}, {"type": "http"}, b"")
        await answering
        assert response.status_code == 200 and response.content == b"a,b\n"
        assert response["Content-Type"] == "text/csv"
        assert not response.cookies
        assert "Set-Cookie" not in response and "Location" not in response
        assert "Access-Control-Allow-Origin" not in response
