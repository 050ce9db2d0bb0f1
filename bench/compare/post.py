"""The ``post`` job: one protocol-level session's change latency and POST round trip."""

from __future__ import annotations

import sys
import time

from bench.compare.plan import Plan
from bench.stats import summary
from devtools.client import (
    DASHBOARD,
    SLIDER_LABEL,
    marker,
    new_session_id,
    next_value,
    set_value,
)
from devtools.targets import Target

# --------------------------------------------------------------------------- protocol


async def post_round_trips(target: Target, plan: Plan) -> dict:
    """POST set_ui_element_value, then its output on the socket; one change at a time.

    Two figures per change: the HTTP round trip alone, and the change
    latency (POST sent -> the dependent output frame read).
    """
    session = new_session_id()
    latencies: list[float] = []
    changes: list[float] = []
    retries: list[int] = []
    failures = 0
    async with target.client() as client, target.socket(DASHBOARD, session) as kernel:
        await kernel.output_containing(marker(10), timeout=60)
        object_id = kernel.object_id(SLIDER_LABEL)
        for i in range(plan.post_warmup + plan.posts):
            value = next_value(i)
            kernel.outputs.clear()
            start = time.perf_counter()
            response = await set_value(
                client, DASHBOARD, target.api_headers(session), object_id, value, retries
            )
            elapsed = (time.perf_counter() - start) * 1000
            try:
                if response.status_code != 200:
                    raise RuntimeError(f"{response.status_code} {response.text[:200]}")
                await kernel.output_containing(marker(value), timeout=plan.change_timeout)
            except (RuntimeError, TimeoutError) as error:
                failures += 1
                print(f"  {target.name}: POST {i} failed: {error}", file=sys.stderr)
                continue
            if i >= plan.post_warmup:
                latencies.append(elapsed)
                changes.append((time.perf_counter() - start) * 1000)
    return {
        **summary(latencies),
        "failures": failures,
        "retries": len(retries),
        "samples_ms": latencies,
        "change": {**summary(changes), "samples_ms": changes},
    }
