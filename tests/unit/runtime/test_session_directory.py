"""Session lookup: socket query strings and the session directory."""

from __future__ import annotations

from pathlib import Path

from notebook_host.marimo import protocol
from notebook_host.runtime import session_directory
from notebook_host.targets.access import parse_rule
from notebook_host.targets.notebook import ServedNotebook


def test_page_query_drops_only_the_socket_parameters() -> None:
    assert protocol.page_query(b"session_id=s_1&a=1&a=2&kiosk=true") == b"a=1&a=2&kiosk=true"
    assert protocol.page_query(b"session_id=s_1") == b""
    assert protocol.page_query(b"q=caf%C3%A9") == b"q=caf%C3%A9"


def test_directory_lookup_is_per_notebook(monkeypatch) -> None:
    one = ServedNotebook(file=Path("a.py"), access=parse_rule("public", where="t"))
    two = ServedNotebook(file=Path("b.py"), access=parse_rule("public", where="t"))
    directory = session_directory.InProcessSessionDirectory()
    directory.record(
        session_directory.LocalRecord(session_id="s_1", notebook=one, page_query=b"a=1", user_id=3)
    )
    assert directory.get("s_1", one).page_query == b"a=1"
    assert directory.get("s_1", two) is None
    assert directory.get(None, one) is None
    assert directory.get("s_unknown", one) is None


def test_directory_prunes_closed_sessions_after_grace(monkeypatch) -> None:
    nb = ServedNotebook(file=Path("a.py"), access=parse_rule("public", where="t"))
    directory = session_directory.InProcessSessionDirectory()
    directory.record(
        session_directory.LocalRecord(
            session_id="s_old", notebook=nb, page_query=b"", user_id=None, created=0.0
        )
    )
    directory.record(
        session_directory.LocalRecord(session_id="s_new", notebook=nb, page_query=b"", user_id=None)
    )
    # s_old is past the grace period and marimo has no such session: pruned on
    # the next record; s_new is young and kept.
    directory.record(
        session_directory.LocalRecord(
            session_id="s_next", notebook=nb, page_query=b"", user_id=None
        )
    )
    assert directory.get("s_old", nb) is None
    assert directory.get("s_new", nb) is not None
    assert len(directory) == 2


def test_forget_app_drops_its_records() -> None:
    nb = ServedNotebook(file=Path("a.py"), access=parse_rule("public", where="t"))
    first, second = object(), object()
    directory = session_directory.InProcessSessionDirectory()
    directory.record(
        session_directory.LocalRecord(
            session_id="s_1", notebook=nb, page_query=b"", user_id=None, app=first
        )
    )
    directory.record(
        session_directory.LocalRecord(
            session_id="s_2", notebook=nb, page_query=b"", user_id=None, app=second
        )
    )
    directory.forget_app(first)
    assert directory.get("s_1", nb) is None
    assert directory.get("s_2", nb) is not None


def test_owned_by_needs_the_recorded_owner_key() -> None:
    nb = ServedNotebook(file=Path("a.py"), access=parse_rule("public", where="t"))
    directory = session_directory.InProcessSessionDirectory()
    directory.record(
        session_directory.LocalRecord(
            session_id="s_1", notebook=nb, page_query=b"", user_id=1, owner="k1"
        )
    )
    directory.record(
        session_directory.LocalRecord(
            session_id="s_2", notebook=nb, page_query=b"", user_id=None, owner=None
        )
    )
    assert directory.owned_by("s_1", "k1")
    assert not directory.owned_by("s_1", "k2")
    assert not directory.owned_by("s_1", None)
    assert not directory.owned_by("s_2", None)  # no cookie owns nothing
    assert not directory.owned_by("s_unknown", "k1")
    assert not directory.owned_by(None, "k1")
    assert directory.lookup("s_1") is directory.get("s_1", nb)


def test_socket_counting_marks_when_the_last_tab_left() -> None:
    nb = ServedNotebook(file=Path("a.py"), access=parse_rule("public", where="t"))
    directory = session_directory.InProcessSessionDirectory()
    directory.record(
        session_directory.LocalRecord(
            session_id="s_1", notebook=nb, page_query=b"", user_id=1, sockets=1
        )
    )
    directory.socket_opened("s_1")
    directory.socket_closed("s_1")
    record = directory.lookup("s_1")
    assert record is not None and record.sockets == 1 and record.left_at is None
    directory.socket_closed("s_1")
    assert record.sockets == 0 and record.left_at is not None
    directory.socket_closed("s_1")  # an extra close never goes negative
    assert record.sockets == 0
    # no app holds it and its tab has left: pruned at once, not after the grace
    assert directory.live() == []
