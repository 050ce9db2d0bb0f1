"""The two ways to declare query parameters, behind one interface.

:class:`FormParams` wraps a Django ``forms.Form`` class, :class:`PydanticParams`
a Pydantic ``BaseModel`` class (Pydantic is imported only when one is used).
:func:`adapter_for` picks one for a class or a dotted path to one.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ImproperlyConfigured
from django.http import QueryDict
from django.utils.module_loading import import_string

from .form_schema import form_field_parameter, takes_many
from .query import encode_value


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
        return takes_many(self.fields[name])

    def defaults(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for name, form_field in self.fields.items():
            initial = form_field.initial
            if callable(initial):
                initial = initial()
            encoded = encode_value(initial)
            if encoded:
                found[name] = encoded
        return found

    def clean(self, data: QueryDict) -> tuple[dict[str, Any], dict[str, list[str]]]:
        form = self.source(data=data)
        if form.is_valid():
            return form.cleaned_data, {}
        return {}, {name: [str(m) for m in messages] for name, messages in form.errors.items()}

    def schemas(self) -> list[dict[str, Any]]:
        return [form_field_parameter(name, f) for name, f in self.fields.items()]


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
            encoded = encode_value(info.get_default(call_default_factory=True))
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


def adapter_for(source: Any, where: str) -> ParamsAdapter:
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
