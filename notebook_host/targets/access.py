"""Where access to a notebook is decided: one function for page, API and socket.

An access rule is parsed once, when the URLconf is imported, so a typo fails
at startup. :func:`decide` is the only place a rule is evaluated.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.http import Http404

from ..hooks import call_hook

NAMED_RULES = ("public", "login", "staff", "superuser")


class Decision(enum.Enum):
    ALLOW = "allow"
    #: Anonymous and not allowed: send to login (page) or answer 401.
    LOGIN = "login"
    #: Signed in and not allowed, or hidden: answer 404.
    NOT_FOUND = "not_found"
    #: The notebook's ``validate`` raised PermissionDenied: answer 403.
    FORBIDDEN = "forbidden"


class Guarded(Protocol):
    """What :func:`decide` reads of a notebook (a ServedNotebook, see targets/)."""

    access: AccessRule
    validate: Callable[..., Any] | None
    relative_path: str


@dataclass(frozen=True)
class AccessRule:
    """A parsed ``access=`` value; ``test`` is ``(user, notebook) -> bool``."""

    label: str
    test: Callable[[Any, Any], Any] | None = None
    permission: str | None = None

    async def allows(self, user: Any, notebook: Guarded | None) -> bool:
        if self.label == "public":
            return True
        if not user.is_authenticated or not user.is_active:
            return False
        if self.label == "login":
            return True
        if self.label == "staff":
            return bool(user.is_staff or user.is_superuser)
        if self.label == "superuser":
            return bool(user.is_superuser)
        if self.permission is not None:
            return bool(await user.ahas_perm(self.permission))
        raise AssertionError(f"unhandled rule {self.label}")  # pragma: no cover


@dataclass(frozen=True)
class CallableRule(AccessRule):
    """A project callable; sync ones run in a thread so they may use the ORM."""

    async def allows(self, user: Any, notebook: Guarded | None) -> bool:
        assert self.test is not None
        return bool(await call_hook(self.test, user, notebook))


@dataclass(frozen=True)
class GroupRule(AccessRule):
    """``base`` AND (member of one of ``group_ids``, staff, or superuser).

    Admin-registered notebooks with allowed groups use it; membership is one
    query, asked only of signed-in users who are neither staff nor superuser.
    """

    base: AccessRule | None = None
    group_ids: frozenset[int] = frozenset()

    async def allows(self, user: Any, notebook: Guarded | None) -> bool:
        if self.base is not None and not await self.base.allows(user, notebook):
            return False
        if not self.group_ids:
            return True
        if not user.is_authenticated or not user.is_active:
            return False
        if user.is_staff or user.is_superuser:
            return True
        return bool(await user.groups.filter(pk__in=self.group_ids).aexists())


def restrict_to_groups(rule: AccessRule, group_ids: frozenset[int]) -> AccessRule:
    """``rule``, further limited to members of ``group_ids`` when there are any."""
    if not group_ids:
        return rule
    label = f"{rule.label}+groups:{','.join(str(g) for g in sorted(group_ids))}"
    return GroupRule(label=label, base=rule, group_ids=group_ids)


def parse_rule(value: Any, *, where: str) -> AccessRule:
    """Turn an ``access=`` value into a rule, or fail naming ``where``."""
    if callable(value):
        name = getattr(value, "__qualname__", repr(value))
        return CallableRule(label=f"callable:{name}", test=value)
    if isinstance(value, str):
        if value in NAMED_RULES:
            return AccessRule(label=value)
        app_label, dot, codename = value.partition(".")
        if dot and app_label and codename and "." not in codename:
            return AccessRule(label=value, permission=value)
    raise ImproperlyConfigured(
        f"{where}: unknown access value {value!r}. Use one of "
        f"{', '.join(repr(r) for r in NAMED_RULES)}, a permission "
        "'app_label.codename', or a callable (user, notebook) -> bool."
    )


async def decide(user: Any, notebook: Guarded, request_or_scope: Any = None) -> Decision:
    """Decide whether ``user`` may use ``notebook``; the single access check.

    The access rule runs first; then the notebook's ``validate`` callback
    (directories), which receives the Django request or the websocket scope.
    """
    try:
        allowed = await notebook.access.allows(user, notebook)
    except Http404:
        return Decision.NOT_FOUND
    except PermissionDenied:
        allowed = False
    if not allowed:
        return Decision.NOT_FOUND if user.is_authenticated else Decision.LOGIN
    if notebook.validate is None:
        return Decision.ALLOW
    try:
        valid = await call_hook(notebook.validate, request_or_scope, notebook.relative_path)
    except Http404:
        return Decision.NOT_FOUND
    except PermissionDenied:
        return Decision.FORBIDDEN
    return Decision.ALLOW if valid else Decision.NOT_FOUND
