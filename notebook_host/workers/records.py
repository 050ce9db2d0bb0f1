"""What the cluster keeps in Redis, as JSON: a worker's heartbeat and a session's record.

Both read back ignoring fields they do not know, so fronts and workers of
two versions share one Redis during a rolling upgrade.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields

from ..runtime.session_record import SessionRecord


@dataclass
class WorkerInfo:
    """What a worker's heartbeat says about it."""

    name: str
    channel: str
    sessions: int
    capacity: int
    host: str = ""
    pid: int = 0
    draining: bool = False
    #: Of ``sessions``, kernels with no socket (waiting out their TTL): the
    #: worker closes them when their room is needed, so they leave room.
    idle: int = 0

    @property
    def free(self) -> int:
        """Sessions it can still take (as :data:`.scripts.PLACE` counts, with reservations)."""
        return self.capacity - self.sessions + self.idle

    @classmethod
    def loads(cls, raw: bytes | str) -> WorkerInfo:
        """A heartbeat, ignoring fields a newer worker added (rolling upgrades)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in json.loads(raw).items() if k in known})


@dataclass(kw_only=True)
class WorkerRecord(SessionRecord):
    """A session record of the cluster, kept in Redis: the worker its kernel lives on."""

    #: A cluster's session always has both: a page and whom limits count it against.
    prefix: str
    limit_key: str
    worker: str
    channel: str
    #: The socket's path and root path: the worker resolves its notebook from them.
    route: dict[str, str]
    #: The front consumer's channel and stream of the socket open now, if any.
    front: str = ""
    stream: str = ""
    #: Hash of the notebook's code when the kernel started (runtime/replay.py).
    code_hash: str = ""

    def dumps(self) -> str:
        fields_ = asdict(self)
        fields_["page_query"] = self.page_query.decode("latin-1")  # JSON has no bytes
        return json.dumps(fields_, default=str)

    @classmethod
    def loads(cls, raw: bytes | str) -> WorkerRecord:
        """A record, ignoring fields a newer front added (rolling upgrades)."""
        known = {f.name for f in fields(cls)}
        found = {k: v for k, v in json.loads(raw).items() if k in known}
        found["page_query"] = str(found.get("page_query") or "").encode("latin-1")
        return cls(**found)
