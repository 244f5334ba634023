"""Sign-in, the people page, invitations and roles. Thin: parse, check, act, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import authenticate, logout
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from charterdesk.core.permissions import require

from .actions import (
    AccountError,
    check_keeps_a_manager,
    do_accept_invitation,
    do_invite,
    do_revoke_invitation,
    do_set_active,
    do_set_roles,
    do_sign_in,
    find_invitation,
)
from .forms import AcceptForm, InviteForm, RolesForm, SignInForm
from .models import Invitation, Person


def _role_choices(request) -> list[tuple[str, str]]:
    protocol = request.protocol
    if protocol is None:
        return []
    return [(role.id, f"{role.title} ({role.id})") for role in protocol.team.roles]


@require_http_methods(["GET", "POST"])
def sign_in(request):
    form = SignInForm(request.POST or None)
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if request.method == "POST" and form.is_valid():
        person = authenticate(
            request, email=form.cleaned_data["email"].lower(), password=form.cleaned_data["password"]
        )
        if person is None:
            form.add_error(None, "That email and password do not match an active account.")
        else:
            do_sign_in(request, person)
            safe = url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure())
            return redirect(next_url if next_url and safe else reverse("handbook:index"))
    return render(request, "accounts/sign_in.html", {"form": form, "next": next_url})


@require_POST
def sign_out(request):
    logout(request)
    return redirect("accounts:sign-in")


@login_required
def people(request):
    require(request, "people.manage")
    protocol_roles = {role.id: role.title for role in request.protocol.team.roles} if request.protocol else {}
    everyone = Person.objects.prefetch_related("roles").order_by("-is_active", "name")
    rows = []
    for person in everyone:
        held = [r.role for r in person.roles.all()]
        rows.append(
            {
                "person": person,
                "roles": [(r, protocol_roles.get(r)) for r in held],
                "unknown": [r for r in held if protocol_roles and r not in protocol_roles],
            }
        )
    pending = Invitation.objects.filter(accepted_at__isnull=True).select_related("invited_by")
    return render(
        request, "accounts/people.html", {"rows": rows, "invitations": pending, "now": timezone.now()}
    )


@login_required
@require_http_methods(["GET", "POST"])
def invite(request):
    require(request, "people.manage")
    form = InviteForm(request.POST or None, role_choices=_role_choices(request))
    link = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            invitation, token = do_invite(data["email"], data["name"], data["roles"], actor=request.user)
        except AccountError as exc:
            form.add_error("email", str(exc))
        else:
            link = request.build_absolute_uri(reverse("accounts:accept", args=[token]))
            from .mail import send_invitation

            send_invitation(invitation, link)
            messages.success(request, f"Invitation sent to {invitation.email}.")
            form = InviteForm(role_choices=_role_choices(request))
    return render(request, "accounts/invite.html", {"form": form, "link": link})


@login_required
@require_http_methods(["GET", "POST"])
def edit_roles(request, person_id: int):
    require(request, "people.manage")
    person = get_object_or_404(Person, pk=person_id)
    choices = _role_choices(request)
    known = {value for value, _ in choices}
    # Roles the person holds that the protocol in force no longer has stay visible, so they can be removed.
    for role in person.role_ids:
        if role not in known:
            choices.append((role, f"{role} (not in the protocol in force)"))
    form = RolesForm(request.POST or None, role_choices=choices, initial={"roles": person.role_ids})
    if request.method == "POST" and form.is_valid():
        roles = form.cleaned_data["roles"]
        active = request.POST["active"] == "1" if "active" in request.POST else person.is_active
        try:
            check_keeps_a_manager(person, roles, active=active, protocol=request.protocol)
        except AccountError as exc:
            form.add_error("roles", str(exc).removeprefix("roles: "))
            return render(request, "accounts/edit_roles.html", {"form": form, "person": person})
        if person == request.user and not roles:
            form.add_error("roles", "You cannot take every role away from yourself.")
        else:
            do_set_roles(person, roles, actor=request.user, protocol_version=request.protocol_version)
            if "active" in request.POST:
                do_set_active(person, request.POST["active"] == "1", actor=request.user)
            messages.success(request, f"{person.name}'s roles are saved.")
            return redirect("accounts:people")
    return render(request, "accounts/edit_roles.html", {"form": form, "person": person})


@require_http_methods(["GET", "POST"])
def accept(request, token: str):
    invitation = find_invitation(token)
    if invitation is None:
        raise Http404("This invitation link is not valid any more. Ask your manager for a new one.")
    form = AcceptForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            person = do_accept_invitation(
                invitation, form.cleaned_data["password"], timezone_name=form.cleaned_data["timezone"]
            )
        except AccountError as exc:
            form.add_error(None, str(exc))
        else:
            do_sign_in(request, person, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome, {person.first_name}.")
            return redirect("handbook:index")
    return render(request, "accounts/accept.html", {"form": form, "invitation": invitation})


@login_required
@require_POST
def revoke_invitation(request, invitation_id: int):
    require(request, "people.manage")
    invitation = get_object_or_404(Invitation, pk=invitation_id)
    try:
        do_revoke_invitation(invitation, actor=request.user)
    except AccountError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"The invitation for {invitation.email} is revoked.")
    return redirect("accounts:people")
