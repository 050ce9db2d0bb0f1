"""The health endpoint on a live daphne: counts follow the open tabs."""

from __future__ import annotations

import httpx

from devtools.live import LiveServer
from devtools.visitor import open_tab


async def test_public_by_default_and_counts_sessions(live: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=live.url, timeout=30) as client:
        before = (await client.get("/registered/health/")).json()
        async with open_tab(live, client, "/app1/", ready="says hi"):
            response = await client.get("/registered/health/")
            assert response.status_code == 200
            assert response.headers["Cache-Control"].startswith("max-age=0")
            body = response.json()
            assert body["status"] == "ok" and body["database"] == "ok"
            assert body["connected_sessions"] == before["connected_sessions"] + 1
            assert body["sessions"] >= body["connected_sessions"]
            assert body["max_sessions"] is None  # tests/projects/default/settings.py lifts the cap
        # marimo's own per-notebook health route is untouched
        assert (await client.get("/app1/health")).json()["status"] == "healthy"
