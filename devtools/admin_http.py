"""Driving Django's admin over real HTTP, as a staff member's browser would."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx

ADMIN = "/admin/notebook_host/notebook/"


def _csrf(client: httpx.AsyncClient) -> str:
    return client.cookies["csrftoken"]


async def post_form(
    client: httpx.AsyncClient, url: str, data: dict[str, Any], files: dict | None = None
) -> httpx.Response:
    """GET the form (for its CSRF cookie), then POST it with ``data``."""
    page = await client.get(url)
    assert page.status_code == 200, (url, page.status_code)
    return await client.post(
        url,
        data={**data, "csrfmiddlewaretoken": _csrf(client)},
        files=files,
        headers={"Referer": str(client.base_url) + url},
    )


async def group_ids(client: httpx.AsyncClient, names: list[str]) -> list[str]:
    """The pks of groups, read from the add form's group chooser."""
    page = (await client.get(ADMIN + "add/")).text
    options = dict(
        (html.unescape(name), pk)
        for pk, name in re.findall(r'<option value="(\d+)"[^>]*>([^<]+)</option>', page)
    )
    return [options[name] for name in names]


def fields(slug: str, title: str, **extra: Any) -> dict[str, Any]:
    data = {
        "slug": slug,
        "title": title,
        "description": "",
        "path": "",
        "enabled": "on",
        "access": "public",
        "permission": "",
        "include_code": "",
        "show_tracebacks": "",
        "session_ttl": "",
        "_save": "Save",
        **extra,
    }
    return {k: v for k, v in data.items() if v is not None}


def notebook_file(name: str, content: bytes) -> dict:
    return {"upload": (name, content, "text/x-python")}


async def add(
    client: httpx.AsyncClient, slug: str, title: str, files: dict | None = None, **extra: Any
) -> str:
    """Add a notebook; returns its pk."""
    data = {**fields(slug, title, **extra), "_continue": "Save and continue"}
    data.pop("_save")
    response = await post_form(client, ADMIN + "add/", data, files)
    assert response.status_code == 302, _errors(response)
    match = re.search(r"/(\d+)/change/", response.headers["location"])
    assert match, response.headers["location"]
    return match.group(1)


async def change(
    client: httpx.AsyncClient,
    pk: str,
    slug: str,
    title: str,
    files: dict | None = None,
    **extra: Any,
) -> None:
    url = f"{ADMIN}{pk}/change/"
    response = await post_form(client, url, fields(slug, title, **extra), files)
    assert response.status_code == 302, _errors(response)


async def delete(client: httpx.AsyncClient, pk: str) -> None:
    response = await post_form(client, f"{ADMIN}{pk}/delete/", {"post": "yes"})
    assert response.status_code == 302, response.status_code


async def action(client: httpx.AsyncClient, name: str, pks: list[str]) -> httpx.Response:
    response = await post_form(
        client, ADMIN, {"action": name, "_selected_action": pks, "index": "0"}
    )
    assert response.status_code == 302, _errors(response)
    return await client.get(ADMIN)


def _errors(response: httpx.Response) -> str:
    found = re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', response.text, re.S)
    return f"{response.status_code}: {found or response.text[:500]}"


async def notebook_pks(client: httpx.AsyncClient, slug: str) -> list[str]:
    """The pks of the changelist rows found searching for ``slug``."""
    page = (await client.get(ADMIN, params={"q": slug})).text
    return re.findall(r'name="_selected_action" value="(\d+)"', page)
