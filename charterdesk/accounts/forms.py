from django import forms
from django.contrib.auth import password_validation


class SignInForm(forms.Form):
    email = forms.EmailField()
    password = forms.CharField(widget=forms.PasswordInput)


class ForgotForm(forms.Form):
    email = forms.EmailField()


class InviteForm(forms.Form):
    email = forms.EmailField()
    name = forms.CharField(max_length=150)
    roles = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple, choices=())

    def __init__(self, *args, role_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["roles"].choices = role_choices


class RolesForm(forms.Form):
    roles = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple, choices=(), required=False)

    def __init__(self, *args, role_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["roles"].choices = role_choices


class AcceptForm(forms.Form):
    password = forms.CharField(widget=forms.PasswordInput, min_length=10)
    password_again = forms.CharField(widget=forms.PasswordInput)
    timezone = forms.ChoiceField(
        initial="UTC",
        label="Your time zone",
        error_messages={"invalid_choice": "'%(value)s' is not a time zone; choose one from the list."},
    )

    def __init__(self, *args, **kwargs):
        from charterdesk.core.timezones import timezone_choices

        super().__init__(*args, **kwargs)
        # A list, as on the portal: a typed zone ("EST", "New York") would only be refused.
        self.fields["timezone"].choices = [(zone, zone.replace("_", " ")) for zone in timezone_choices()]

    def clean(self):
        data = super().clean()
        if data.get("password") and data.get("password") != data.get("password_again"):
            self.add_error("password_again", "The two passwords differ.")
        elif data.get("password"):
            try:
                password_validation.validate_password(data["password"])
            except forms.ValidationError as exc:
                self.add_error("password", exc)
        return data
