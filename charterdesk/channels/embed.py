"""The embeddable contact form: one script tag on a company's own site feeds the `web` channel.

``GET /channels/embed/<channel>.js`` returns a small script that renders the form into the host page
(the element named by the tag's ``data-target``, else right after the tag). The script carries a signed
timestamp; ``POST /channels/embed/<channel>/submit`` accepts only:

- from an Origin a manager listed for that channel (CORS is answered for those origins only),
- with the signed timestamp at least 3 seconds and at most a day old (bots post at once or replay),
- with the hidden honeypot field left empty (bots fill every field; they are told "thanks" and ignored),
- at most 10 submissions an hour from one IP address.
"""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.validators import validate_email
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from charterdesk.core.client import client_ip
from charterdesk.core.permissions import require
from charterdesk.core.ratelimit import Limit

from .actions import ChannelError, do_save_embed_form, do_submit_web_form
from .forms import EmbedForm as EmbedSettingsForm
from .models import EmbedForm

SALT = "charterdesk.channels.embed"
MIN_SECONDS = 3
MAX_AGE = 24 * 3600
PER_IP_PER_HOUR = 10


def _form_for(channel: str, request) -> EmbedForm:
    protocol = request.protocol
    kinds = {c.id: c.kind for c in protocol.channels.customer} if protocol else {}
    if kinds.get(channel) != "web":
        raise Http404("No such web channel")
    form = EmbedForm.objects.filter(channel=channel, enabled=True).first()
    if form is None:
        raise Http404("The contact form of this channel is switched off")
    return form


def script(request, channel: str):
    form = _form_for(channel, request)
    token = signing.TimestampSigner(salt=SALT).sign(channel)
    config = {
        "submit": request.build_absolute_uri(reverse("channels:embed-submit", args=[channel])),
        "token": token,
        "title": form.title,
    }
    body = render_to_string("channels/embed.js", {"config": json.dumps(config)})
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "no-store"
    response["Access-Control-Allow-Origin"] = "*"
    return response


def _cors(response, origin: str):
    response["Access-Control-Allow-Origin"] = origin
    response["Access-Control-Allow-Methods"] = "POST, OPTIONS"
    response["Access-Control-Allow-Headers"] = "Content-Type"
    response["Access-Control-Max-Age"] = "600"
    response["Vary"] = "Origin"
    return response


@csrf_exempt
@require_http_methods(["POST", "OPTIONS"])
def submit(request, channel: str):
    form = _form_for(channel, request)
    origin = request.headers.get("Origin", "")
    if not origin or origin.rstrip("/").lower() not in form.allowed_origins:
        refusal = JsonResponse({"error": "This site may not send this form."}, status=403)
        # Readable by the page's script, so that a visitor (and the site's owner) sees why instead
        # of a generic failure; it carries nothing but the refusal.
        return _cors(refusal, origin) if origin else refusal
    if request.method == "OPTIONS":
        return _cors(HttpResponse(status=204), origin)
    ip = client_ip(request)
    # The desk's one limiter: atomic, and a fixed hourly window (not one renewed by every message).
    limit = Limit(f"embed-{channel}", PER_IP_PER_HOUR)
    if limit.exceeded(ip):
        return _cors(
            JsonResponse({"error": "Too many messages; please try again later."}, status=429), origin
        )
    try:
        value = signing.TimestampSigner(salt=SALT).unsign(request.POST.get("token", ""), max_age=MAX_AGE)
    except signing.SignatureExpired:
        return _cors(
            JsonResponse({"error": "The form has expired; please reload the page."}, status=400), origin
        )
    except signing.BadSignature:
        return _cors(
            JsonResponse({"error": "The form is damaged; please reload the page."}, status=400), origin
        )
    if value != channel or _too_fast(request.POST.get("token", "")):
        return _cors(
            JsonResponse({"error": "That was quick! Please check your message and send again."}, status=400),
            origin,
        )
    if request.POST.get("website"):  # the honeypot: people never see this field
        return _cors(
            JsonResponse({"ok": True, "message": "Thank you, we have your message."}, status=202), origin
        )
    errors = {}
    email = request.POST.get("email", "").strip()
    try:
        validate_email(email)
    except Exception:
        errors["email"] = "Enter your email address, such as jo@example.com."
    text = request.POST.get("message", "").strip()
    if not text:
        errors["message"] = "Write your message."
    if len(text) > 20_000:
        errors["message"] = "The message is too long (at most 20,000 characters)."
    if errors:
        return _cors(JsonResponse({"errors": errors}, status=400), origin)
    # Counted before the ticket is stored (an early look above only spares the work): requests
    # arriving at once can never store more messages than the limit.
    if not limit.take(ip).allowed:
        return _cors(
            JsonResponse({"error": "Too many messages; please try again later."}, status=429), origin
        )
    try:
        ticket = do_submit_web_form(
            channel=channel,
            name=request.POST.get("name", "").strip()[:200],
            email=email,
            subject=request.POST.get("subject", "").strip()[:300],
            message=text,
        )
    except ChannelError as exc:
        limit.give_back(ip)
        return _cors(JsonResponse({"error": str(exc)}, status=400), origin)
    return _cors(
        JsonResponse(
            {"ok": True, "message": f"Thank you, we have your message ({ticket.reference})."}, status=201
        ),
        origin,
    )


def _too_fast(token: str) -> bool:
    import time

    try:
        _, stamp, _signature = token.rsplit(":", 2)
        return time.time() - signing.b62_decode(stamp) < MIN_SECONDS
    except (ValueError, TypeError):
        return True


@login_required
@require_http_methods(["GET", "POST"])
def settings_page(request):
    require(request, "channels.manage")
    protocol = request.protocol
    web = [c.id for c in protocol.channels.customer if c.kind == "web"] if protocol else []
    channel = request.GET.get("channel") or request.POST.get("channel") or (web[0] if web else "")
    if channel and channel not in web:
        raise Http404("No such web channel")
    current = EmbedForm.objects.filter(channel=channel).first()
    initial = (
        {
            "enabled": current.enabled,
            "title": current.title,
            "allowed_origins": "\n".join(current.allowed_origins),
        }
        if current
        else None
    )
    form = EmbedSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        do_save_embed_form(channel, actor=request.user, **form.cleaned_data)
        messages.success(request, f"Saved the contact form of {channel}.")
        return redirect(f"{reverse('channels:embed-settings')}?channel={channel}")
    snippet = ""
    if channel:
        src = request.build_absolute_uri(reverse("channels:embed-script", args=[channel]))
        snippet = (
            f'<div id="charterdesk-form"></div>\n'
            f'<script src="{src}" data-target="#charterdesk-form" async></script>'
        )
    return render(
        request,
        "channels/embed_settings.html",
        {"form": form, "channels": web, "channel": channel, "snippet": snippet, "current": current},
    )
