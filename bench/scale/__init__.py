"""Scale benchmark: F fronts x W workers against K sticky plain + patch processes.

    python -m bench.scale [--fronts F] [--workers W] [--sticky K] [--sessions N]
                          [--clients P] [--changes C] [--tiny] [--only KINDS] [--out DIR]
                          [--server daphne|uvicorn]

Issue 23 asks whether the product's scale-out keeps up with what a user of
marimo gets from the same cores, so three server kinds are measured in turn,
with the same client code (bench/cluster.py's ``changes``):

* ``notebook_host``: F fronts (daphne, or uvicorn with ``--server``) and W
  ``notebook_worker`` processes on a throwaway Redis (pub/sub layer). No
  balancer and no stickiness: session s opens its socket on front s mod F and
  POSTs its changes to front s+1 mod F.
* ``plain_patch``: K processes of marimo's ``create_asgi_app`` under uvicorn
  with notebook_host's entry-point patch alone, ideal sticky balancing
  (session s on process s mod K).
* ``plain_marimo``: one plain marimo process.

N sessions come from P load-client processes (bench/scale/load.py); each
opens its socket and waits for the first output, then all change phases start
together behind a barrier and every session makes C widget changes. The CPU
seconds of every server process kind (fronts, workers, Redis, marimo) are
read from /proc across the change phase. The runner is bench/scale/run.py;
docs/performance.md has the figures.
"""
