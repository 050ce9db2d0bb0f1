"""Query parameters a notebook declares: validated, canonicalised, described.

A notebook takes ``params=`` a Django ``forms.Form`` class, a Pydantic
``BaseModel`` class (Pydantic is imported only when one is used) or a dotted
path to either (what an admin-registered notebook stores). Both are wrapped
in one interface, :class:`NotebookParams`: ``check(pairs)`` cleans a query and
gives back its errors or its canonical form (declared fields in order,
defaults filled in, ``urlencode(..., doseq=True)``); ``schemas()`` describes
each field for the OpenAPI document.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from fnmatch import fnmatchcase
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.http import QueryDict

from .adapters import adapter_for
from .query import Checked, Pairs, encode_value

#: What a notebook does with query parameters its form does not declare.
UNKNOWN_CHOICES = ("reject", "drop", "pass")
DEFAULT_UNKNOWN = "reject"


class NotebookParams:
    """A notebook's declared parameters and what it does with unknown ones."""

    def __init__(self, source: Any, *, unknown: str = DEFAULT_UNKNOWN, where: str = "") -> None:
        if unknown not in UNKNOWN_CHOICES:
            raise ImproperlyConfigured(
                f"{where}: unknown_params must be one of {', '.join(UNKNOWN_CHOICES)}, "
                f"got {unknown!r}."
            )
        self.adapter = adapter_for(source, where)
        self.unknown = unknown
        self._defaults = self.adapter.defaults()

    @property
    def source(self) -> type:
        return self.adapter.source

    @property
    def has_multiple(self) -> bool:
        """True when a field takes repeated values (the socket URL loses them)."""
        return any(self.adapter.is_multiple(name) for name in self.adapter.names())

    def check(self, user_pairs: Iterable[tuple[str, str]]) -> Checked:
        """Clean the user's pairs (no marimo pairs) into errors or canonical pairs."""
        user_pairs = list(user_pairs)
        declared = self.adapter.names()
        data = QueryDict(mutable=True)
        unknown: Pairs = []
        for key, value in user_pairs:
            if key in self.adapter.names():
                data.appendlist(key, value)
            else:
                unknown.append((key, value))
        for name in declared:
            values = data.getlist(name)
            if not self.adapter.is_multiple(name):
                values = values[-1:]  # what the form reads of a repeated single value
            # An absent or blank parameter takes the field's default.
            if all(v == "" for v in values):
                data.setlist(name, self._defaults.get(name, []))
        cleaned, errors = self.adapter.clean(data)
        if unknown and self.unknown == "reject":
            for key, _ in unknown:
                errors.setdefault(key, ["Unknown parameter."])
        if errors:
            return Checked(errors=errors)
        pairs = [(name, v) for name in declared for v in encode_value(cleaned.get(name))]
        if self.unknown == "pass":
            pairs.extend(unknown)
        return Checked(errors={}, pairs=pairs)

    def schemas(self) -> list[dict[str, Any]]:
        return self.adapter.schemas()


#: What ``notebook_directory(params=...)`` takes: one declaration for every
#: notebook, ``{glob: declaration}`` (first matching glob on the path relative
#: to the folder wins, e.g. ``"sales/*.py"``) or ``relative_path -> declaration``.
DirectoryParams = Any


class DirectoryParamsMap:
    """Which parameters each notebook of a directory takes, decided by path."""

    def __init__(self, value: DirectoryParams, *, unknown: str, where: str) -> None:
        self.where = where
        self.unknown = unknown
        self._call: Callable[[str], Any] | None = None
        self._globs: list[tuple[str, NotebookParams]] = []
        self._all: NotebookParams | None = None
        if isinstance(value, Mapping):
            self._globs = [
                (str(glob), NotebookParams(src, unknown=unknown, where=f"{where}[{glob!r}]"))
                for glob, src in value.items()
            ]
        elif callable(value) and not isinstance(value, type):
            self._call = value
        else:
            self._all = NotebookParams(value, unknown=unknown, where=where)

    def for_path(self, relative_path: str) -> NotebookParams | None:
        if self._all is not None:
            return self._all
        for glob, params in self._globs:
            if fnmatchcase(relative_path, glob):
                return params
        if self._call is not None:
            source = self._call(relative_path)
            if source is None:
                return None
            if isinstance(source, NotebookParams):
                return source
            return NotebookParams(source, unknown=self.unknown, where=self.where)
        return None


def _unknown_without_params(params: Any, unknown: str, where: str) -> bool:
    if params is None and unknown != DEFAULT_UNKNOWN:
        raise ImproperlyConfigured(f"{where}: unknown_params only applies with params=.")
    return params is None


def notebook_params(params: Any, unknown: str, where: str) -> NotebookParams | None:
    """What ``notebook(params=, unknown_params=)`` declares, checked at import."""
    if _unknown_without_params(params, unknown, where):
        return None
    return NotebookParams(params, unknown=unknown, where=where)


def directory_params(params: Any, unknown: str, where: str) -> DirectoryParamsMap | None:
    """What ``notebook_directory(params=, unknown_params=)`` declares."""
    if _unknown_without_params(params, unknown, where):
        return None
    return DirectoryParamsMap(params, unknown=unknown, where=where)
