"""/tokens/: a signed-in person's personal API tokens. Thin: parse, check, act, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

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
@require_POST
def revoke(request, token_id: int):
    token = get_object_or_404(ApiToken, pk=token_id, person=request.user)
    if token.revoked_at is None:
        do_revoke_token(token, actor=request.user)
        messages.success(request, f"Token '{token.name}' is revoked; requests bearing it now get 401.")
    return redirect("api:tokens")
