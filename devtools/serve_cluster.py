"""``make serve-cluster``: the demo on Redis, 2 fronts, 2 workers, nginx on 127.0.0.1:8000.

Everything runs from temporary folders (the demo's database is the project's
own db.sqlite3, as with ``make serve``) and Ctrl-C stops all of it.
"""

from __future__ import annotations

import os
import signal
import sys
import tempfile
import time
from pathlib import Path

from devtools.cluster import Front, WorkerProcess
from devtools.live import ROOT
from devtools.nginx import Nginx
from devtools.redis import RedisServer

PORT = int(os.environ.get("NOTEBOOK_HOST_CLUSTER_PORT", "8000"))
#: bench/cluster.py runs its own settings and worker count through these.
SETTINGS = os.environ.get("NOTEBOOK_HOST_CLUSTER_SETTINGS", "project.settings_cluster")
WORKERS = int(os.environ.get("NOTEBOOK_HOST_CLUSTER_WORKERS", "2"))


def main() -> int:
    folder = Path(tempfile.mkdtemp(prefix="notebook-host-cluster-"))
    redis = RedisServer(folder)
    env = {
        "NOTEBOOK_HOST_REDIS_URL": redis.url,
        "DJANGO_SQLITE_PATH": os.environ.get("DJANGO_SQLITE_PATH", str(ROOT / "db.sqlite3")),
        "DJANGO_MEDIA_ROOT": os.environ.get("DJANGO_MEDIA_ROOT", str(ROOT / "media")),
    }
    fronts = [
        Front(
            folder,
            settings=SETTINGS,
            env=env,
            name=f"front{i}",
            ready_path="/accounts/login/",
        )
        for i in (1, 2)
    ]
    workers: list[WorkerProcess] = []
    balancer: Nginx | None = None
    try:
        redis.start()
        for front in fronts:
            front.start()
        for index in range(1, WORKERS + 1):
            worker_env = {**fronts[0].environ(), **env}
            workers.append(WorkerProcess(f"worker{index}", worker_env, folder).start())
        balancer = Nginx([f.port for f in fronts], port=PORT, folder=folder / "nginx").start()
        print(f"Serving the demo at {balancer.url}/ through nginx (round robin over 2 fronts,")
        print(
            f"{WORKERS} workers, Redis {redis.url}); logs in {folder}. Ctrl-C stops all.",
            flush=True,
        )
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        # A worker may die (bench/cluster.py kills one): its tabs reconnect to
        # a kernel on another; the cluster stops when a front or every worker is gone.
        reported: set[str] = set()
        while all(f.proc is not None and f.proc.poll() is None for f in fronts):
            alive = [w for w in workers if w.proc is not None and w.proc.poll() is None]
            if not alive:
                break
            for worker in workers:
                if worker not in alive and worker.name not in reported:
                    reported.add(worker.name)
                    print(f"{worker.name} exited; serving with the others", file=sys.stderr)
            time.sleep(0.5)
        print("A front or every worker exited: stopping the cluster", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        if balancer is not None:
            balancer.stop()
        for process in [*fronts, *workers]:
            process.stop(timeout=10)
        redis.stop()


if __name__ == "__main__":
    sys.exit(main())
