"""System checks over the notebooks the URLconf serves."""

from notebook_host.checks import check_notebook_files, iter_notebooks


def test_iter_notebooks_follows_includes() -> None:
    routes = {nb.route for nb in iter_notebooks()}
    assert {"app1/", "meta/", "items/<int:item>/"} <= routes
    # Root notebooks inside tests/projects/root_first/urls.py and urls_root_last.py.
    assert sum(1 for nb in iter_notebooks() if nb.route == "") == 2


def test_missing_and_broken_files_are_reported() -> None:
    found = {(w.id, w.obj) for w in check_notebook_files()}
    assert found == {
        ("notebook_host.W001", "missing/"),
        # Written and deleted by tests/live/test_faults_live.py while it runs.
        ("notebook_host.W001", "volatile/"),
        ("notebook_host.W002", "broken/"),
        ("notebook_host.W002", "notmarimo/"),
    }
