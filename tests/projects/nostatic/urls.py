"""The test project's URLconf plus a page framing a notebook without the sizing script."""

from django.http import HttpResponse
from django.urls import path

from tests.projects.default.urls import urlpatterns as default_urlpatterns


def bare_frame(request):
    """A hand-written auto frame whose host page forgot the sizing script."""
    return HttpResponse(
        '<!doctype html><html><head><title>Bare</title></head><body style="margin: 0">'
        '<iframe class="notebook-host-frame" data-notebook-height="auto" title="Bare" '
        'src="/grow/?nh-embed=auto" style="display: block; width: 100%; border: 0; '
        'height: 150px"></iframe></body></html>'
    )


urlpatterns = [path("embed/bare/", bare_frame), *default_urlpatterns]
