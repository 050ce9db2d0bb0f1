"""Reading Prometheus metrics in tests: scrape with the bearer token, look samples up."""

from __future__ import annotations

import re

import httpx
from prometheus_client.parser import text_string_to_metric_families

#: The METRICS_TOKEN the test settings take from NOTEBOOK_HOST_TEST_METRICS_TOKEN.
TOKEN = "metrics-token-for-the-live-tests"
#: An error id as a viewer and the kernel log show it.
ERROR_ID = re.compile(r"error id ([0-9a-f]{12})")

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(url: str) -> Samples:
    """Every sample at ``url``, by name and labels, read with the bearer token."""
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.get(url, headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value; 0 when it is absent (a counter not yet incremented)."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)
