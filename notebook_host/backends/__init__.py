"""The kernel backend of this process, chosen once by ``NOTEBOOK_HOST["KERNELS"]``.

``"local"`` and ``"workers"`` name the two backends shipped here; any other
value is the dotted path of a :class:`.base.KernelBackend` subclass. The
implementations are imported by name, as Channels imports a channel layer,
so nothing here depends on the optional Redis packages of ``"workers"``.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.module_loading import import_string

from ..conf import get_config
from .base import KernelBackend, KernelCall, Readiness

__all__ = ["BACKENDS", "KernelBackend", "KernelCall", "Readiness", "backend_class", "kernels"]

#: The backends ``NOTEBOOK_HOST["KERNELS"]`` names, by dotted path.
BACKENDS = {
    "local": "notebook_host.backends.local.LocalBackend",
    "workers": "notebook_host.workers.backend.WorkersBackend",
}


def backend_class(value: str) -> type[KernelBackend]:
    """The backend class a KERNELS value names; ImproperlyConfigured says why not."""
    path = BACKENDS.get(value, value)
    if "." not in path:
        raise ImproperlyConfigured(
            f"NOTEBOOK_HOST['KERNELS'] must be 'local', 'workers' or the dotted path of a "
            f"KernelBackend subclass, got {value!r}."
        )
    try:
        found = import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(
            f"NOTEBOOK_HOST['KERNELS'] = {value!r} cannot be imported: {exc}"
        ) from exc
    if not (isinstance(found, type) and issubclass(found, KernelBackend)):
        raise ImproperlyConfigured(
            f"NOTEBOOK_HOST['KERNELS'] = {value!r} is not a KernelBackend subclass."
        )
    return found


@cache
def kernels() -> KernelBackend:
    """This process's kernel backend."""
    return backend_class(str(get_config()["KERNELS"]))()


@receiver(setting_changed)
def _reset(*, setting: str, **kwargs: Any) -> None:
    if setting == "NOTEBOOK_HOST":
        kernels.cache_clear()
