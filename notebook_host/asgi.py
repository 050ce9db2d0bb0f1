"""The project's ASGI application: Django for HTTP, Channels for websockets."""

from __future__ import annotations

from typing import Any


def get_asgi_application(websocket_urlpatterns: list[Any] | None = None) -> Any:
    """Django's ASGI app plus notebook websockets, behind origin and auth checks.

    A socket's Origin must be this site's scheme, host and port (or one of
    CSRF_TRUSTED_ORIGINS), the rule marimo's POSTs get.

    ``websocket_urlpatterns`` are the project's own socket routes, tried
    before the notebook routes.
    """
    # Django is set up by the call below: nothing of Channels or ours before it.
    from django.core.asgi import get_asgi_application as django_asgi

    http = django_asgi()  # sets Django up before Channels imports models

    # Imported after Django's set-up (app loading): they import models.
    from channels.auth import AuthMiddlewareStack
    from channels.routing import ProtocolTypeRouter, URLRouter

    from .admission.origin import SocketOriginValidator
    from .marimo import patches
    from .runtime import collector
    from .transports.fastpath import KernelAPIFastPath
    from .transports.lifespan import lifespan
    from .transports.routing import fallback_urlpatterns, notebook_urlpatterns

    patches.initialise()
    # Import the URLconf now, so a misconfigured notebook() stops the server
    # at start-up instead of failing its first request.
    from django.urls import get_resolver

    _ = get_resolver().url_patterns
    from .backends import kernels  # after Django's set-up: it reads the settings

    kernels().at_startup()
    collector.tune()  # the last step of start-up: what it loaded stays
    routes = [*(websocket_urlpatterns or []), *notebook_urlpatterns(), *fallback_urlpatterns]
    return ProtocolTypeRouter(
        {
            "http": KernelAPIFastPath(http),
            "websocket": SocketOriginValidator(AuthMiddlewareStack(URLRouter(routes))),
            "lifespan": lifespan,
        }
    )
