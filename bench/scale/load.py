"""The load clients of the scale benchmark: one process of many sessions each.

One asyncio loop on 2 cores cannot drive hundreds of sessions without itself
being the bottleneck, so the sessions are spread over P processes. A shared
barrier lets the parent read the servers' CPU time exactly when every
client's change phase starts, and again when every client's has ended.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from threading import BrokenBarrierError
from typing import Any

from bench.cluster import changes
from bench.compare.plan import Plan
from devtools.client import DASHBOARD, SLIDER_LABEL, marker, new_session_id
from devtools.targets import Target


@dataclass
class Job:
    """One client process's sessions: where each opens its socket and sends its POSTs."""

    sockets: list[Target]
    posts: list[Target]
    plan: Plan


@dataclass
class Outcome:
    """One session as the client saw it."""

    start_ms: float | None = None  # socket open -> the kernel's first output
    latencies_ms: list[float] = field(default_factory=list)
    error: str = ""


def client_main(job: Job, barrier: Any, queue: Any) -> None:
    """A load-client process: its sessions' outcomes go back through ``queue``."""
    queue.put([outcome.__dict__ for outcome in asyncio.run(drive(job, barrier))])


async def drive(job: Job, barrier: Any) -> list[Outcome]:
    plan = job.plan
    loop = asyncio.get_running_loop()
    outcomes = [Outcome() for _ in job.sockets]
    up = [loop.create_future() for _ in job.sockets]
    done = [loop.create_future() for _ in job.sockets]
    go, release = asyncio.Event(), asyncio.Event()
    hosts = {t.port: t for t in job.posts}
    clients = {port: t.client(connections=len(job.sockets) + 5) for port, t in hosts.items()}

    async def session(index: int) -> None:
        outcome, name = outcomes[index], new_session_id()
        socket_at, post_to = job.sockets[index], job.posts[index]
        started = time.perf_counter()
        try:
            async with socket_at.socket(DASHBOARD, name, plan.round_timeout) as kernel:
                await kernel.output_containing(marker(10), timeout=plan.round_timeout)
                outcome.start_ms = (time.perf_counter() - started) * 1000
                knob = kernel.object_id(SLIDER_LABEL)
                up[index].set_result(True)
                await go.wait()
                client = clients[post_to.port]
                outcome.latencies_ms = await changes(client, post_to, kernel, name, knob, plan)
                done[index].set_result(True)
                await release.wait()  # every kernel stays up until the last change
        except Exception as error:
            outcome.error = f"{type(error).__name__}: {str(error)[:160]}"
        finally:
            for future in (up[index], done[index]):
                if not future.done():
                    future.set_result(False)

    tasks = [asyncio.ensure_future(session(i)) for i in range(len(job.sockets))]
    try:
        await asyncio.wait(up)
        await asyncio.to_thread(barrier.wait, plan.round_timeout)  # change phase starts
        go.set()
        await asyncio.wait(done)
        await asyncio.to_thread(barrier.wait, plan.round_timeout)  # change phase over
    except BrokenBarrierError:  # another process failed: end this one's sessions too
        for task in tasks:
            task.cancel()
    finally:
        release.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        for client in clients.values():
            await client.aclose()
    return outcomes
