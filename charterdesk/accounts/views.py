"""Sign-in, the people page, invitations and roles. Thin: parse, check, act, render."""

from __future__ import annotations

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, logout, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm, SetPasswordForm
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from charterdesk.core.client import client_ip
from charterdesk.core.permissions import require
from charterdesk.core.ratelimit import Limit
from charterdesk.core.settings import int_setting

from . import throttle, twofactor
from .actions import (
    AccountError,
    check_keeps_a_manager,
    do_accept_invitation,
    do_change_password,
    do_check_second_factor,
    do_enrol_second_factor,
    do_invite,
    do_record_failed_sign_in,
    do_remove_second_factor,
    do_request_password_reset,
    do_revoke_invitation,
    do_set_active,
    do_set_roles,
    do_set_two_factor_roles,
    do_sign_in,
    do_sign_out_other_sessions,
    do_unlock,
    find_invitation,
)
from .forms import AcceptForm, ForgotForm, InviteForm, RolesForm, SignInForm
from .mail import send_password_reset, send_unlock
from .middleware import MUST_ENROL
from .models import Invitation, Person, TwoFactorRole
from .tokens import person_from, person_id, reset_tokens, unlock_tokens


def _role_choices(request) -> list[tuple[str, str]]:
    protocol = request.protocol
    if protocol is None:
        return []
    return [(role.id, f"{role.title} ({role.id})") for role in protocol.team.roles]


@require_http_methods(["GET", "POST"])
def sign_in(request):
    form = SignInForm(request.POST or None)
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    status = 200
    if request.method == "POST" and form.is_valid():
        email, ip = form.cleaned_data["email"].lower(), client_ip(request)
        known = Person.objects.filter(email=email, is_active=True).first()
        refused = throttle.refusal(email, ip, locked=bool(known and known.sign_in_locked_at))
        person = None
        if refused is None:
            person = authenticate(request, email=email, password=form.cleaned_data["password"])
        if refused is not None:
            form.add_error(None, refused.message)
            status = 429
        elif person is None:
            failures = throttle.count_failure(email, ip)
            locked = failures >= throttle.lockout_failures()
            do_record_failed_sign_in(email, ip=ip, failures=failures, person=known, locked=locked)
            if locked and known is not None:
                _send_unlock(request, known)
            form.add_error(None, throttle.LOCKED_MESSAGE if locked else WRONG_PASSWORD)
        elif twofactor.enrolled(person):
            # The password is right; the failures are cleared only once the code is right too, so
            # that the password cannot be used to reset the count while guessing codes.
            stamp = timezone.now().timestamp()
            request.session[PENDING] = {"person": person.pk, "at": stamp, "next": next_url}
            return redirect("accounts:sign-in-code")
        else:
            throttle.clear(email)
            return _complete_sign_in(request, person, next_url)
    return render(request, "accounts/sign_in.html", {"form": form, "next": next_url}, status=status)


PENDING = "charterdesk.sign_in.pending"
PENDING_SECONDS = 300


def _complete_sign_in(request, person: Person, next_url: str):
    do_sign_in(request, person)
    if not twofactor.enrolled(person) and twofactor.required_for(person):
        request.session[MUST_ENROL] = True
        messages.info(request, "Your role needs a second factor: set up an authenticator app to go on.")
        return redirect("accounts:two-factor")
    safe = url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure())
    return redirect(next_url if next_url and safe else reverse("handbook:index"))


@require_http_methods(["GET", "POST"])
def sign_in_code(request):
    """The second step for a person with an authenticator app: a code, or a recovery code."""
    pending = request.session.get(PENDING) or {}
    person = Person.objects.filter(pk=pending.get("person"), is_active=True).first()
    if person is None or timezone.now().timestamp() - pending.get("at", 0) > PENDING_SECONDS:
        request.session.pop(PENDING, None)
        messages.error(request, "Sign in again: the code must follow the password within five minutes.")
        return redirect("accounts:sign-in")
    error, status = "", 200
    if request.method == "POST":
        ip = client_ip(request)
        refused = throttle.refusal(person.email, ip, locked=bool(person.sign_in_locked_at))
        if refused is not None:
            error, status = refused.message, 429
        elif do_check_second_factor(person, request.POST.get("code", ""), ip=ip) is None:
            failures = throttle.count_failure(person.email, ip)
            locked = failures >= throttle.lockout_failures()
            do_record_failed_sign_in(person.email, ip=ip, failures=failures, person=person, locked=locked)
            if locked:
                _send_unlock(request, person)
            error = throttle.LOCKED_MESSAGE if locked else "That code is not right. Try the newest one."
        else:
            request.session.pop(PENDING, None)
            throttle.clear(person.email)
            return _complete_sign_in(request, person, pending.get("next", ""))
    return render(request, "accounts/sign_in_code.html", {"error": error}, status=status)


WRONG_PASSWORD = "That email and password do not match an active account."


def _link_minutes() -> int:
    return max(1, settings.PASSWORD_RESET_TIMEOUT // 60)


def _send_unlock(request, person: Person) -> None:
    person.refresh_from_db(fields=["sign_in_locked_at"])
    link = request.build_absolute_uri(
        reverse("accounts:unlock", args=[person_id(person), unlock_tokens.make_token(person)])
    )
    send_unlock(person, link, _link_minutes())


@require_http_methods(["GET", "POST"])
def unlock(request, uid: str, token: str):
    """GET shows a button and POST unlocks, so that a mail scanner opening the link unlocks nothing."""
    person = person_from(uid)
    if person is None or person.sign_in_locked_at is None or not unlock_tokens.check_token(person, token):
        raise Http404("This unlock link is not valid any more. Choose a new password instead.")
    if request.method == "POST":
        do_unlock(person, ip=client_ip(request))
        throttle.clear(person.email)
        messages.success(request, "Your account is unlocked. Sign in with your password.")
        return redirect("accounts:sign-in")
    return render(request, "accounts/unlock.html", {"person": person})


@require_http_methods(["GET", "POST"])
def forgot_password(request):
    """Email a one-time link to choose a new password. The answer is the same whether or not the
    address has an account."""
    form = ForgotForm(request.POST or None)
    sent = False
    status = 200
    if request.method == "POST" and form.is_valid():
        email, ip = form.cleaned_data["email"].lower(), client_ip(request)
        if not reset_limit_per_ip().take(ip).allowed or not reset_limit_per_email().take(email).allowed:
            form.add_error(None, "Too many reset links were asked for; try again in an hour.")
            status = 429
        else:
            person = Person.objects.filter(email=email, is_active=True).first()
            do_request_password_reset(email, person=person, ip=ip)
            if person is not None:
                link = request.build_absolute_uri(
                    reverse("accounts:reset", args=[person_id(person), reset_tokens.make_token(person)])
                )
                send_password_reset(person, link, _link_minutes())
            sent = True
    return render(request, "accounts/forgot.html", {"form": form, "sent": sent}, status=status)


def reset_limit_per_email() -> Limit:
    return Limit("reset-per-email", int_setting("CHARTERDESK_RESET_LINKS_PER_EMAIL", 3))


def reset_limit_per_ip() -> Limit:
    return Limit("reset-per-ip", int_setting("CHARTERDESK_RESET_LINKS_PER_IP", 10))


@require_http_methods(["GET", "POST"])
def reset_password(request, uid: str, token: str):
    person = person_from(uid)
    if person is None or not reset_tokens.check_token(person, token):
        raise Http404("This link is not valid any more (it works once, for an hour). Ask for a new one.")
    form = SetPasswordForm(person, request.POST or None)
    if request.method == "POST" and form.is_valid():
        do_change_password(person, form.cleaned_data["new_password1"], ip=client_ip(request), why="reset")
        throttle.clear(person.email)
        messages.success(request, "Your new password is set. Sign in with it.")
        return redirect("accounts:sign-in")
    return render(request, "accounts/reset.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def account(request):
    """Your own password and sessions."""
    form = PasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        do_change_password(
            request.user, form.cleaned_data["new_password1"], ip=client_ip(request), why="change"
        )
        update_session_auth_hash(request, request.user)
        messages.success(request, "Your password is changed; your other sessions are signed out.")
        return redirect("accounts:account")
    return render(request, "accounts/account.html", {"form": form})


@login_required
@require_POST
def sign_out_others(request):
    do_sign_out_other_sessions(request.user, ip=client_ip(request))
    update_session_auth_hash(request, request.user)
    messages.success(request, "Your other sessions are signed out.")
    return redirect("accounts:account")


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


@login_required
@require_http_methods(["GET", "POST"])
def two_factor(request):
    """Set up (or remove) your authenticator app; the recovery codes are shown once."""
    person = request.user
    ip = client_ip(request)
    enrolled, required = twofactor.enrolled(person), twofactor.required_for(person)
    error = ""
    if request.method == "POST" and request.POST.get("do") == "remove" and enrolled:
        if required:
            error = "Your role needs a second factor: it cannot be removed."
        elif do_check_second_factor(person, request.POST.get("code", ""), ip=ip) is None:
            error = "That code is not right."
        else:
            do_remove_second_factor(person, actor=person, ip=ip)
            messages.success(request, "Your authenticator app is removed.")
            return redirect("accounts:two-factor")
    secret = request.session.get(ENROL_SECRET) or twofactor.new_secret()
    request.session[ENROL_SECRET] = secret
    if request.method == "POST" and request.POST.get("do") == "enrol" and not enrolled:
        step = twofactor.matching_step(secret, request.POST.get("code", ""), timezone.now())
        if step is None:
            error = "That code is not right. Check the app's clock and try the newest code."
        else:
            codes = do_enrol_second_factor(person, secret, step=step, ip=ip)
            request.session.pop(ENROL_SECRET, None)
            request.session.pop(MUST_ENROL, None)
            return render(request, "accounts/recovery_codes.html", {"codes": codes})
    uri = twofactor.provisioning_uri(secret, person.email)
    context = {
        "enrolled": enrolled,
        "required": required,
        "error": error,
        "secret": secret,
        "qr": segno.make(uri, error="m").svg_inline(scale=4),
        "left": person.recovery_codes.filter(used_at__isnull=True).count() if enrolled else 0,
    }
    return render(request, "accounts/two_factor.html", context, status=400 if error else 200)


ENROL_SECRET = "charterdesk.two_factor.secret"


@login_required
@require_http_methods(["GET", "POST"])
def two_factor_roles(request):
    """Which roles must use a second factor: the desk's setting, for people.manage."""
    require(request, "people.manage")
    choices = _role_choices(request)
    chosen = sorted(TwoFactorRole.objects.values_list("role", flat=True))
    form = RolesForm(request.POST or None, role_choices=choices, initial={"roles": chosen})
    if request.method == "POST" and form.is_valid():
        do_set_two_factor_roles(form.cleaned_data["roles"], actor=request.user)
        messages.success(request, "Saved. The people holding these roles must enrol at their next sign-in.")
        return redirect("accounts:people")
    return render(request, "accounts/two_factor_roles.html", {"form": form})
