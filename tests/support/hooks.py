"""Hooks the test settings name: a middleware and a REQUEST_META callable."""

from asgiref.sync import iscoroutinefunction
from django.http import HttpRequest
from django.utils.decorators import sync_and_async_middleware


@sync_and_async_middleware
def HeaderMiddleware(get_response):
    """Marks every response, to show Django middleware wraps notebook routes."""
    if iscoroutinefunction(get_response):

        async def middleware(request):
            response = await get_response(request)
            response["X-Test-Middleware"] = "applied"
            return response

    else:

        def middleware(request):
            response = get_response(request)
            response["X-Test-Middleware"] = "applied"
            return response

    return middleware


def request_meta(request_or_scope) -> dict:
    source = "request" if isinstance(request_or_scope, HttpRequest) else "scope"
    return {"tenant": "acme", "source": source}
