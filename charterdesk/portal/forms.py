"""The portal's forms. Every error message names the field it is about."""

from __future__ import annotations

from django import forms

from charterdesk.core.timezones import timezone_choices

from . import spam


def _zones():
    return [(zone, zone.replace("_", " ")) for zone in timezone_choices()]


class NewTicketForm(forms.Form):
    name = forms.CharField(
        max_length=200,
        error_messages={
            "required": "Your name: tell us what to call you.",
            "max_length": "Your name: at most %(limit_value)d characters, please.",
        },
    )
    email = forms.EmailField(
        max_length=254,
        error_messages={
            "required": "Your email: we need it to answer you.",
            "invalid": "Your email: this is not an email address, e.g. jo@example.com.",
            "max_length": "Your email: at most %(limit_value)d characters.",
        },
    )
    subject = forms.CharField(
        max_length=300,
        error_messages={
            "required": "Subject: say in a few words what it is about.",
            "max_length": "Subject: at most %(limit_value)d characters; put the details in the message.",
        },
    )
    message = forms.CharField(
        max_length=20000,
        widget=forms.Textarea,
        error_messages={
            "required": "Message: tell us what happened and how we can help.",
            "max_length": "Message: at most %(limit_value)d characters.",
        },
    )
    timezone = forms.ChoiceField(
        required=False,
        choices=(),
        error_messages={"invalid_choice": "Your time zone: '%(value)s' is not a time zone we know."},
    )
    # Spam protection: a field people never see, and when the form was shown (signed).
    website = forms.CharField(required=False)
    started = forms.CharField(required=False)

    def __init__(self, *args, default_zone: str = "UTC", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["timezone"].choices = _zones()
        self.fields["timezone"].initial = default_zone
        self.default_zone = default_zone
        # Whether the form was refused as spam rather than for a field (the view answers 400).
        self.refused = False

    def clean_name(self):
        name = " ".join(self.cleaned_data["name"].split())
        if not name:
            raise forms.ValidationError("Your name: tell us what to call you.")
        return name

    def clean_subject(self):
        subject = " ".join(self.cleaned_data["subject"].split())
        if not subject:
            raise forms.ValidationError("Subject: say in a few words what it is about.")
        return subject

    def clean_message(self):
        message = self.cleaned_data["message"].strip()
        if not message:
            raise forms.ValidationError("Message: tell us what happened and how we can help.")
        return message

    def clean_email(self):
        return self.cleaned_data["email"].strip().lower()

    def clean_timezone(self):
        return self.cleaned_data.get("timezone") or self.default_zone

    def clean(self):
        data = super().clean()
        if (self.data.get(spam.HONEYPOT_FIELD) or "").strip():
            self.refused = True
            raise forms.ValidationError(
                "This form could not be sent: the field marked 'leave this empty' was filled in."
            )
        problem = spam.stamp_problem(self.data.get(spam.STAMP_FIELD, ""))
        if problem:
            self.refused = True
            raise forms.ValidationError(problem.message, code=problem.code)
        return data


class LinkRequestForm(forms.Form):
    email = forms.EmailField(
        max_length=254,
        error_messages={
            "required": "Your email: enter the address you write to us from.",
            "invalid": "Your email: this is not an email address, e.g. jo@example.com.",
        },
    )


class ReplyForm(forms.Form):
    body = forms.CharField(
        max_length=20000,
        widget=forms.Textarea,
        error_messages={
            "required": "Your reply: write your message first.",
            "max_length": "Your reply: at most %(limit_value)d characters.",
        },
    )

    def clean_body(self):
        body = self.cleaned_data["body"].strip()
        if not body:
            raise forms.ValidationError("Your reply: write your message first.")
        return body


class TimezoneForm(forms.Form):
    timezone = forms.ChoiceField(
        choices=(), error_messages={"invalid_choice": "Time zone: '%(value)s' is not a time zone we know."}
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["timezone"].choices = _zones()
