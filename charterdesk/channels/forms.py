"""Forms of the channels pages. Every error names its field."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from django import forms

from .choices import CallDirection, MailboxSecurity
from .models import Mailbox


class MailboxForm(forms.Form):
    name = forms.CharField(max_length=120)
    channel = forms.ChoiceField(help_text="the email channel of the protocol this mailbox's mail belongs to")
    host = forms.CharField(max_length=255)
    port = forms.IntegerField(min_value=1, max_value=65535, initial=993)
    security = forms.ChoiceField(choices=MailboxSecurity.choices, initial=MailboxSecurity.SSL)
    username = forms.CharField(max_length=255)
    password = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="stored encrypted and never shown; leave empty to keep the stored one",
    )
    folder = forms.CharField(max_length=255, initial="INBOX")
    is_active = forms.BooleanField(required=False, initial=True, label="Poll this mailbox")
    verify_certificate = forms.BooleanField(required=False, initial=True)
    trusted_authserv_id = forms.CharField(
        required=False,
        max_length=255,
        label="Trust the sender checks of",
        help_text="the authserv-id your mail server writes in the Authentication-Results header of the "
        "mail it delivers to this mailbox (e.g. mx.acme.example), if it checks DKIM, SPF and DMARC and "
        "removes such headers that arrive from outside; empty: the desk checks DKIM itself",
    )

    def __init__(self, *args, channels=(), mailbox=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].choices = [(c, c) for c in channels]
        self.mailbox = mailbox  # the one being changed, None for a new one

    def clean_host(self):
        host = self.cleaned_data["host"].strip().rstrip(".")
        bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
        try:
            ipaddress.ip_address(bare)
            return bare
        except ValueError:
            pass
        # Each dot-separated label 1 to 63 letters, digits or hyphens, not starting or ending with
        # a hyphen: "imap..example.com" would pass a looser check and then fail at every poll.
        label = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
        if not re.fullmatch(rf"{label}(\.{label})*", host) or len(host) > 253:
            raise forms.ValidationError("enter a host name such as imap.example.com, or an IP address")
        return host

    def clean_trusted_authserv_id(self):
        value = self.cleaned_data["trusted_authserv_id"].strip()
        # An authserv-id is a host name or similar token (RFC 8601): no spaces, semicolons or controls.
        if value and not re.fullmatch(r"[A-Za-z0-9._-]+", value):
            raise forms.ValidationError(
                "enter the server's authserv-id as it writes it, such as mx.acme.example"
            )
        return value

    def clean(self):
        data = super().clean()
        # The stored password goes only where it went before: changing where or as whom the desk
        # signs in (or dropping TLS) needs the password typed again.
        mailbox = self.mailbox
        if mailbox is not None and not data.get("password"):
            moved = [
                name
                for name in Mailbox.SIGN_IN_FIELDS
                if name in data and str(data[name]) != str(getattr(mailbox, name))
            ]
            if moved:
                self.add_error(
                    "password",
                    f"type the password again: the {', '.join(moved)} changed, and the stored password "
                    "is only sent where it was sent before",
                )
        return data


class EmbedForm(forms.Form):
    enabled = forms.BooleanField(required=False, initial=True, label="Accept submissions")
    title = forms.CharField(max_length=120, initial="Contact us")
    allowed_origins = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="one per line, such as https://www.acme.example; only these sites may send the form",
    )

    def clean_allowed_origins(self):
        origins = []
        for line in self.cleaned_data["allowed_origins"].splitlines():
            line = line.strip().rstrip("/")
            if not line:
                continue
            parts = urlsplit(line)
            try:
                parts.port  # noqa: B018 - raises for a port out of range; a browser never sends one
            except ValueError:
                raise forms.ValidationError(f"'{line}' has a port that does not exist") from None
            if (
                parts.scheme not in ("https", "http")
                or not parts.hostname
                or parts.path
                or parts.query
                or parts.username is not None  # a browser's Origin never carries user:password@
            ):
                raise forms.ValidationError(f"'{line}' is not an origin; write it as https://www.example.com")
            origins.append(f"{parts.scheme}://{parts.netloc.lower()}")
        return sorted(set(origins))


class QuarantineTicketForm(forms.Form):
    email = forms.EmailField(label="Customer email")
    name = forms.CharField(max_length=200, required=False, label="Customer name")
    subject = forms.CharField(max_length=300)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 8}))
    channel = forms.ChoiceField()

    def __init__(self, *args, channels=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].choices = [(c, c) for c in channels]


class CallForm(forms.Form):
    ticket = forms.IntegerField(
        required=False, min_value=1, help_text="a ticket number; empty opens a new ticket"
    )
    customer_email = forms.EmailField(required=False)
    customer_name = forms.CharField(max_length=200, required=False)
    phone_number = forms.CharField(max_length=40, required=False)
    subject = forms.CharField(max_length=300, required=False)
    direction = forms.ChoiceField(choices=CallDirection.choices, widget=forms.RadioSelect)
    duration = forms.CharField(max_length=10, help_text="minutes, or minutes:seconds such as 4:30")
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}))

    def clean_duration(self):
        text = self.cleaned_data["duration"].strip()
        match = re.fullmatch(r"(\d{1,4})(?::([0-5]\d))?", text)
        if not match:
            raise forms.ValidationError("write minutes, or minutes:seconds such as 4:30")
        return int(match.group(1)) * 60 + int(match.group(2) or 0)

    def clean(self):
        data = super().clean()
        if not data.get("ticket") and not data.get("customer_email") and not data.get("phone_number"):
            self.add_error("customer_email", "enter the customer's email or phone number, or a ticket number")
        return data
