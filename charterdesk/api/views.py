"""/tokens/: a signed-in person's personal API tokens; /tokens/people/: everyone's, for those who
may manage people (``people.manage``), who may revoke any of them. Thin: parse, check, act, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from charterdesk.core.permissions import can, require

from .actions import TokenError, do_create_token, do_revoke_token
from .models import ApiToken


def _page(request, *, secret: str | None = None, created: ApiToken | None = None, error: str = "", name=""):
    tokens = ApiToken.objects.filter(person=request.user).order_by("revoked_at", "-created_at", "-id")
    return render(
        request,
        "api/tokens.html",
        {
            "tokens": tokens,
            "secret": secret,
            "created": created,
            "error": error,
            "name": name,
            "api_base": request.build_absolute_uri("/api/v1/"),
            "docs_url": reverse("api-v1:openapi-view"),
        },
        status=422 if error else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def tokens(request):
    """Lists the person's tokens; a POST creates one and shows its secret this once."""
    if request.method == "GET":
        return _page(request)
    name = request.POST.get("name", "")
    try:
        token, secret = do_create_token(request.user, name, actor=request.user)
    except TokenError as exc:
        return _page(request, error=str(exc).removeprefix("name: "), name=name)
    response = _page(request, secret=secret, created=token)
    # The secret is in this page only: keep it out of every cache.
    response["Cache-Control"] = "no-store"
    return response


@login_required
def people_tokens(request):
    """Every person's tokens (never a secret: only its first characters are kept anyway), active
    first, for those who may manage people; each active one with a button to revoke it."""
    require(request, "people.manage")
    tokens = ApiToken.objects.select_related("person").order_by(
        "revoked_at", "person__name", "-created_at", "-id"
    )
    return render(request, "api/people_tokens.html", {"tokens": tokens})


@login_required
@require_POST
def revoke(request, token_id: int):
    """The owner revokes their own token; a person who may manage people revokes anyone's (and
    comes back to everyone's tokens). For anyone else another person's token does not exist (404)."""
    token = ApiToken.objects.select_related("person").filter(pk=token_id).first()
    own = token is not None and token.person_id == request.user.pk
    if token is None or not (own or can(request, "people.manage")):
        raise Http404("no such token")
    if token.revoked_at is None:
        do_revoke_token(token, actor=request.user)
        whose = "" if own else f" of {token.person.name}"
        messages.success(request, f"Token '{token.name}'{whose} is revoked; requests bearing it now get 401.")
    return redirect("api:tokens" if own else "api:people-tokens")
