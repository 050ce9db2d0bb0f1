"""Django form fields as OpenAPI 3.1 parameters: type, format, bounds, choices, default.

A notebook whose ``params=`` is a form describes each field in the OpenAPI
document (:mod:`notebook_host.openapi.document`) through :func:`form_field_parameter`; Pydantic
models describe themselves (their JSON schema, in
:class:`notebook_host.params.adapters.PydanticParams`).
"""

from __future__ import annotations

import decimal
from collections.abc import Iterable
from typing import Any

from django import forms

from .query import encode_value


def takes_many(form_field: forms.Field) -> bool:
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


def form_field_schema(form_field: forms.Field) -> dict[str, Any]:
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


def form_field_parameter(name: str, form_field: forms.Field) -> dict[str, Any]:
    schema = form_field_schema(form_field)
    if takes_many(form_field):
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
    encoded = encode_value(value)
    return encoded[0] if encoded else None
