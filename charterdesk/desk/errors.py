"""The desk's own "not found" page: a message a person can read, and a way back that fits them."""

from __future__ import annotations

from django.shortcuts import render

NOTHING_HERE = "There is nothing at this address."


def not_found(request, exception=None):
    # Django's own messages ("No Person matches the given query.", a resolver's internals) are
    # for developers; the desk's Http404s carry sentences meant for the reader ("There is no ticket #9").
    message = exception.args[0] if exception is not None and exception.args else ""
    if not isinstance(message, str) or not message or message.endswith("matches the given query."):
        message = NOTHING_HERE
    if request.path.startswith("/portal/"):
        return render(request, "portal/404.html", {"message": message}, status=404)
    return render(request, "404.html", {"message": message}, status=404)
