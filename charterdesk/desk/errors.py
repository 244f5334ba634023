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


def bad_request(request, exception=None):
    """A form over the size limit (RequestDataTooBig) is told the limit, on the desk's or the portal's
    own page, instead of Django's bare "Bad Request (400)"; other bad requests get a plain sentence."""
    from django.core.exceptions import RequestDataTooBig

    from charterdesk.core.limits import in_words, post_limit

    template = "portal/400.html" if request.path.startswith("/portal/") else "400.html"
    context = {"back": request.META.get("HTTP_REFERER") or ""}
    if isinstance(exception, RequestDataTooBig):
        context |= {
            "title": "Too long to send",
            "message": f"The desk takes at most {in_words(post_limit())} of text in one form, "
            "and this was more. Nothing was saved or sent.",
            "too_large": True,
        }
        return render(request, template, context, status=413)
    context |= {
        "title": "Not understood",
        "message": "The desk could not read this request. Go back and try again.",
    }
    return render(request, template, context, status=400)
