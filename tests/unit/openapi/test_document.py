"""The OpenAPI document of tests/projects/default/urls.py, and ``manage.py notebook_routes``."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from openapi_spec_validator import validate

from notebook_host.openapi.document import document, routes

# routes() lists the notebooks registered in the admin too.
pytestmark = pytest.mark.django_db


def operation(doc: dict, path: str) -> dict:
    return doc["paths"][path]["get"]


def params_by_name(op: dict) -> dict[str, dict]:
    return {p["name"]: p for p in op.get("parameters", [])}


def test_document_is_valid_openapi_31() -> None:
    doc = document()
    assert doc["openapi"] == "3.1.0"
    validate(doc)


def test_every_notebook_route_is_listed_with_its_access() -> None:
    doc = document()
    assert operation(doc, "/app1/")["x-notebook-access"] == "public"
    assert operation(doc, "/staff/")["x-notebook-access"] == "staff"
    assert operation(doc, "/perm/")["x-notebook-access"] == "auth.view_user"
    assert operation(doc, "/alice/")["x-notebook-access"] == "callable:only_alice"
    assert operation(doc, "/login-items/")["x-notebook-access"] == "login"
    # Mounted under include() and directory entries as they are now.
    assert "/sub/mounted/test_app/" in doc["paths"]
    assert "/apps/nested/deep/deep_app/" in doc["paths"]
    assert "/apps/" in doc["paths"]
    # Only notebook routes: not Django's login view, not the document itself.
    assert not any(p.startswith("/accounts/") for p in doc["paths"])
    assert "/registered/openapi.json" not in doc["paths"]


def test_form_parameters_are_described() -> None:
    op = operation(document(), "/items/")
    assert op["x-unknown-params"] == "reject"
    assert "400" in op["responses"]
    params = params_by_name(op)
    assert params["limit"]["schema"] == {
        "type": "integer",
        "minimum": 1,
        "maximum": 100,
        "default": 100,
    }
    assert params["limit"]["description"] == "Rows per page."
    assert params["tags"]["schema"]["items"]["enum"] == ["a", "b", "c"]


def test_pydantic_and_directory_parameters() -> None:
    doc = document()
    assert params_by_name(operation(doc, "/pyitems/"))["limit"]["schema"]["maximum"] == 100
    nested = params_by_name(operation(doc, "/paramapps/nested/nested_app/"))
    assert nested["region"]["schema"]["enum"] == ["north", "south"]
    assert nested["region"]["required"] is True
    assert "parameters" not in operation(doc, "/paramapps/secret_app/")
    assert operation(doc, "/loose/")["x-unknown-params"] == "pass"


def test_path_converters_become_path_parameters() -> None:
    op = operation(document(), "/items/{item}/")
    assert params_by_name(op)["item"] == {
        "name": "item",
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "minimum": 0},
    }


def test_routes_follow_urlconf_order() -> None:
    paths = [r.path for r in routes()]
    assert paths.index("/first/") < paths.index("/first/app1/")
    assert paths.index("/last/app1/") < paths.index("/last/")


def test_management_command() -> None:
    out = StringIO()
    call_command("notebook_routes", stdout=out)
    lines = out.getvalue().splitlines()
    assert "/items/  items.py  access=public  params: limit, offset, order_by, tags" in lines
    assert "/apps/  [listing]  access=public" in lines
    as_json = StringIO()
    call_command("notebook_routes", "--json", stdout=as_json)
    doc = json.loads(as_json.getvalue())
    validate(doc)
    assert "/items/" in doc["paths"]


def test_summaries_and_responses() -> None:
    doc = document()
    assert operation(doc, "/items/")["summary"] == "Items"  # the notebook's app_title
    assert operation(doc, "/missing/")["summary"] == "missing"  # listed though absent
    assert "302" not in operation(doc, "/app1/")["responses"]  # public, no form
    assert "302" in operation(doc, "/staff/")["responses"]
    assert "302" in operation(doc, "/items/")["responses"]  # the canonical redirect
