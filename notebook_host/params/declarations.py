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

import datetime
import decimal
import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any
from urllib.parse import parse_qsl, urlencode

from django import forms
from django.core.exceptions import ImproperlyConfigured
from django.http import QueryDict
from django.utils.module_loading import import_string

from ..marimo.protocol import FRONTEND_PARAMS

#: What a notebook does with query parameters its form does not declare.
UNKNOWN_CHOICES = ("reject", "drop", "pass")
DEFAULT_UNKNOWN = "reject"

Pairs = list[tuple[str, str]]


def parse_query(query: str | bytes) -> Pairs:
    """A query string as (name, value) pairs; bad bytes never raise."""
    if isinstance(query, bytes):
        query = query.decode("latin-1")
    return parse_qsl(query, keep_blank_values=True)


def split_marimo(pairs: Iterable[tuple[str, str]]) -> tuple[Pairs, Pairs]:
    """(marimo's own pairs, the user's pairs), each in their original order."""
    own: Pairs = []
    user: Pairs = []
    for key, value in pairs:
        (own if key in FRONTEND_PARAMS else user).append((key, value))
    return own, user


def last_values(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Each name's last value: what marimo's frontend forwards to the socket."""
    return dict(pairs)


@dataclass
class Checked:
    """The outcome of checking a query against a notebook's parameters."""

    #: ``{field: [messages]}``; empty when the query is valid.
    errors: dict[str, list[str]]
    #: The canonical user pairs (declared fields, defaults filled, then any
    #: passed unknown names); empty when invalid.
    pairs: Pairs = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.errors

    @property
    def query(self) -> str:
        return urlencode(self.pairs, doseq=True)


def _encode(value: Any) -> list[str]:
    """A cleaned value as the query strings that parse back to it."""
    if value is None:
        return []
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [v for item in items for v in _encode(item)]
    if isinstance(value, bool):
        return ["true" if value else "false"]
    if isinstance(value, enum.Enum):
        return _encode(value.value)
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return [value.isoformat()]
    return [str(value)]


class ParamsAdapter:
    """One declaration style (form or model) behind a common interface."""

    source: type

    def names(self) -> list[str]:
        raise NotImplementedError

    def is_multiple(self, name: str) -> bool:
        raise NotImplementedError

    def defaults(self) -> dict[str, list[str]]:
        """Query strings of each field's default, for fields that have one."""
        raise NotImplementedError

    def clean(self, data: QueryDict) -> tuple[dict[str, Any], dict[str, list[str]]]:
        """(cleaned values, errors) for declared fields present in ``data``."""
        raise NotImplementedError

    def schemas(self) -> list[dict[str, Any]]:
        """One OpenAPI parameter object (``in: query``) per field."""
        raise NotImplementedError

    def components(self) -> dict[str, Any]:
        """Shared schemas the parameter objects refer to."""
        return {}


class FormParams(ParamsAdapter):
    """A Django ``forms.Form`` subclass; ``initial`` values are the defaults."""

    def __init__(self, form_class: type[forms.Form]) -> None:
        self.source = form_class
        self.fields = form_class.base_fields

    def names(self) -> list[str]:
        return list(self.fields)

    def is_multiple(self, name: str) -> bool:
        return _form_field_multiple(self.fields[name])

    def defaults(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for name, form_field in self.fields.items():
            initial = form_field.initial
            if callable(initial):
                initial = initial()
            encoded = _encode(initial)
            if encoded:
                found[name] = encoded
        return found

    def clean(self, data: QueryDict) -> tuple[dict[str, Any], dict[str, list[str]]]:
        form = self.source(data=data)
        if form.is_valid():
            return form.cleaned_data, {}
        return {}, {name: [str(m) for m in messages] for name, messages in form.errors.items()}

    def schemas(self) -> list[dict[str, Any]]:
        return [_form_field_parameter(name, f) for name, f in self.fields.items()]


def _form_field_multiple(form_field: forms.Field) -> bool:
    return isinstance(form_field, forms.MultipleChoiceField) or bool(
        getattr(form_field.widget, "allow_multiple_selected", False)
    )


def _flat_choices(choices: Iterable[Any]) -> list[Any]:
    values: list[Any] = []
    for key, label in choices:
        if isinstance(label, list | tuple):
            values.extend(k for k, _ in label)  # an option group
        else:
            values.append(key)
    return [v for v in values if v != ""]


def _form_field_schema(form_field: forms.Field) -> dict[str, Any]:
    schema: dict[str, Any]
    if isinstance(form_field, forms.BooleanField | forms.NullBooleanField):
        schema = {"type": "boolean"}
    elif isinstance(form_field, forms.IntegerField) and not isinstance(
        form_field, forms.FloatField | forms.DecimalField
    ):
        schema = {"type": "integer"}
    elif isinstance(form_field, forms.FloatField | forms.DecimalField):
        schema = {"type": "number"}
    elif isinstance(form_field, forms.DateTimeField):
        schema = {"type": "string", "format": "date-time"}
    elif isinstance(form_field, forms.DateField):
        schema = {"type": "string", "format": "date"}
    elif isinstance(form_field, forms.TimeField):
        schema = {"type": "string", "format": "time"}
    elif isinstance(form_field, forms.UUIDField):
        schema = {"type": "string", "format": "uuid"}
    elif isinstance(form_field, forms.EmailField):
        schema = {"type": "string", "format": "email"}
    elif isinstance(form_field, forms.URLField):
        schema = {"type": "string", "format": "uri"}
    else:
        schema = {"type": "string"}
    for attr, key in (("min_value", "minimum"), ("max_value", "maximum")):
        bound = getattr(form_field, attr, None)
        if isinstance(bound, int | float | decimal.Decimal) and not isinstance(bound, bool):
            schema[key] = bound if not isinstance(bound, decimal.Decimal) else float(bound)
    for attr, key in (("min_length", "minLength"), ("max_length", "maxLength")):
        length = getattr(form_field, attr, None)
        if isinstance(length, int):
            schema[key] = length
    if isinstance(form_field, forms.ChoiceField):
        schema["enum"] = _flat_choices(form_field.choices)
    return schema


def _form_field_parameter(name: str, form_field: forms.Field) -> dict[str, Any]:
    schema = _form_field_schema(form_field)
    if _form_field_multiple(form_field):
        schema = {"type": "array", "items": schema}
    initial = form_field.initial() if callable(form_field.initial) else form_field.initial
    if initial is not None:
        schema["default"] = _json_value(initial)
    if form_field.label:
        schema["title"] = str(form_field.label)
    parameter: dict[str, Any] = {
        "name": name,
        "in": "query",
        "required": bool(form_field.required),
        "schema": schema,
    }
    if form_field.help_text:
        parameter["description"] = str(form_field.help_text)
    if schema.get("type") == "array":
        parameter.update(style="form", explode=True)
    return parameter


def _json_value(value: Any) -> Any:
    """A default as JSON: lists stay lists, everything else a JSON scalar."""
    if isinstance(value, list | tuple | set | frozenset):
        return [_json_value(v) for v in value]
    if isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, decimal.Decimal):
        return float(value)
    encoded = _encode(value)
    return encoded[0] if encoded else None


class PydanticParams(ParamsAdapter):
    """A Pydantic ``BaseModel`` subclass; field defaults are the defaults."""

    def __init__(self, model: type) -> None:
        self.source = model
        self.fields = model.model_fields  # type: ignore[attr-defined]
        self._schema = model.model_json_schema(  # type: ignore[attr-defined]
            ref_template="#/components/schemas/{model}"
        )

    def names(self) -> list[str]:
        return list(self.fields)

    def is_multiple(self, name: str) -> bool:
        return self._property(name).get("type") == "array"

    def _property(self, name: str) -> dict[str, Any]:
        prop = dict(self._schema.get("properties", {}).get(name, {}))
        # Optional[list[str]] comes as anyOf [array, null]: look through it.
        for option in prop.get("anyOf", []):
            if option.get("type") == "array":
                return {**prop, **option}
        return prop

    def defaults(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for name, info in self.fields.items():
            if info.is_required():
                continue
            encoded = _encode(info.get_default(call_default_factory=True))
            if encoded:
                found[name] = encoded
        return found

    def clean(self, data: QueryDict) -> tuple[dict[str, Any], dict[str, list[str]]]:
        from pydantic import ValidationError  # optional dependency, used by models only

        raw: dict[str, Any] = {}
        for name in self.fields:
            if name in data:
                raw[name] = data.getlist(name) if self.is_multiple(name) else data[name]
        try:
            model = self.source.model_validate(raw)  # type: ignore[attr-defined]
        except ValidationError as exc:
            errors: dict[str, list[str]] = {}
            for error in exc.errors():
                loc = error.get("loc") or ("__all__",)
                errors.setdefault(str(loc[0]), []).append(error["msg"])
            return {}, errors
        return model.model_dump(mode="json"), {}

    def schemas(self) -> list[dict[str, Any]]:
        required = set(self._schema.get("required", []))
        found = []
        for name in self.fields:
            schema = self._property(name)
            description = schema.pop("description", None)
            parameter: dict[str, Any] = {
                "name": name,
                "in": "query",
                "required": name in required,
                "schema": schema,
            }
            if description:
                parameter["description"] = description
            if self.is_multiple(name):
                parameter.update(style="form", explode=True)
            found.append(parameter)
        return found

    def components(self) -> dict[str, Any]:
        return dict(self._schema.get("$defs", {}))


def _adapter_for(source: Any, where: str) -> ParamsAdapter:
    if isinstance(source, str):
        try:
            source = import_string(source)
        except ImportError as exc:
            raise ImproperlyConfigured(
                f"{where}: params {source!r} cannot be imported: {exc}"
            ) from exc
    if isinstance(source, type) and issubclass(source, forms.BaseForm):
        return FormParams(source)
    if isinstance(source, type) and _is_pydantic_model(source):
        return PydanticParams(source)
    raise ImproperlyConfigured(
        f"{where}: params must be a django.forms.Form subclass, a pydantic.BaseModel "
        f"subclass or a dotted path to one, got {source!r}."
    )


def _is_pydantic_model(cls: type) -> bool:
    """True for a Pydantic model, without importing Pydantic for a form."""
    if not any(base.__module__.startswith("pydantic") for base in cls.__mro__):
        return False
    from pydantic import BaseModel  # optional dependency: only once a class looks like one

    return issubclass(cls, BaseModel)


class NotebookParams:
    """A notebook's declared parameters and what it does with unknown ones."""

    def __init__(self, source: Any, *, unknown: str = DEFAULT_UNKNOWN, where: str = "") -> None:
        if unknown not in UNKNOWN_CHOICES:
            raise ImproperlyConfigured(
                f"{where}: unknown_params must be one of {', '.join(UNKNOWN_CHOICES)}, "
                f"got {unknown!r}."
            )
        self.adapter = _adapter_for(source, where)
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
        pairs = [(name, v) for name in declared for v in _encode(cleaned.get(name))]
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
