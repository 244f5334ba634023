"""Forms of the agent workspace. Choices come from the protocol in force and the person's rights."""

from __future__ import annotations

from django import forms
from django.utils.text import Truncator

from charterdesk.accounts.models import Person, validate_timezone
from charterdesk.protocol.tags import normal_tag, tag_problem

from .attachments import IncomingFile, check_files
from .choices import Priority, Status
from .lifecycle import all_answers, hooks
from .queues import SORTS, Filters
from .search import ADDRESS_NEEDS_CONTACT, names_an_address


def _protocol_choices(protocol, what: str) -> list[tuple[str, str]]:
    if protocol is None:
        return []
    if what == "groups":
        return [(g.id, g.name) for g in protocol.team.groups]
    return [(c.id, f"{c.id} ({c.kind})") for c in protocol.channels.customer]


def active_people():
    return Person.objects.filter(is_active=True).order_by("name")


class FilterForm(forms.Form):
    q = forms.CharField(required=False, label="Search")
    status = forms.ChoiceField(required=False)
    priority = forms.ChoiceField(required=False)
    group = forms.ChoiceField(required=False)
    assignee = forms.ChoiceField(required=False)
    tag = forms.CharField(required=False, max_length=64)
    channel = forms.ChoiceField(required=False)
    sort = forms.ChoiceField(required=False)

    def __init__(self, data, *, protocol, people, contact: bool = True):
        super().__init__(data)
        # ``contact``: the reader sees customers' contact details (core.permissions.sees_customer_contact).
        self.contact = contact
        anything = [("", "Any")]
        self.fields["status"].choices = anything + list(Status.choices)
        self.fields["priority"].choices = anything + list(Priority.choices)
        self.fields["group"].choices = (
            anything + _protocol_choices(protocol, "groups") + [("none", "No group")]
        )
        self.fields["assignee"].choices = (
            anything + [("none", "Nobody")] + [(str(p.pk), p.name) for p in people]
        )
        self.fields["channel"].choices = anything + _protocol_choices(protocol, "channels")
        # The families' filters (``queue_filters`` hook), before the sort order.
        sort_field = self.fields.pop("sort")
        self.family_filters = {f.name: f for f in all_answers(hooks.queue_filters())}
        for name, family_filter in self.family_filters.items():
            self.fields[name] = forms.ChoiceField(
                required=False, label=family_filter.label, choices=anything + family_filter.choices(protocol)
            )
        self.fields["sort"] = sort_field
        self.fields["sort"].choices = [(key, label) for key, (label, _) in SORTS.items()]

    def clean_q(self) -> str:
        q = self.cleaned_data.get("q") or ""
        if not self.contact and names_an_address(q):
            raise forms.ValidationError(ADDRESS_NEEDS_CONTACT)
        return q

    def filters(self) -> Filters:
        """The valid filters; an unknown value in the address (a stale bookmark) filters nothing,
        and `ignored()` says so on the page."""
        self.is_valid()
        data = self.cleaned_data
        values = {k: (data.get(k) or "") for k in Filters.__dataclass_fields__ if k != "extra"}
        values["sort"] = values["sort"] or "due"
        extra = tuple((f, data[name]) for name, f in self.family_filters.items() if data.get(name))
        return Filters(**values, extra=extra)

    def ignored(self) -> list[str]:
        """One line per filter in the address that was not applied, naming the filter and value.

        A bookmark can outlive a group or channel of an older protocol version; the queue then
        shows the view unfiltered rather than nothing, and says which filter it left out."""
        self.is_valid()
        lines = []
        for name, errors in self.errors.items():
            field = self.fields[name]
            value = Truncator(self.data.get(name, "")).chars(40)
            label = field.label or name.capitalize()
            why = (
                "is not one of the choices here"
                if isinstance(field, forms.ChoiceField)
                else (f"is refused ({errors[0].rstrip('.')})")
            )
            lines.append(f"{label} filter '{value}' {why}, so it is not applied.")
        return lines


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Any number of files (none too), each checked against the attachment limit as it is now."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        uploads = [one for one in (data if isinstance(data, list | tuple) else [data]) if one]
        uploads = [super(MultipleFileField, self).clean(one, initial) for one in uploads]
        # Sizes first, from what the upload says, so an oversized file is refused unread.
        named = [IncomingFile(filename=one.name or "", content=b"") for one in uploads]
        problems = check_files(named, sizes=[one.size for one in uploads])
        if problems:
            raise forms.ValidationError(problems)
        return [IncomingFile.from_upload(one) for one in uploads]


class ComposerForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), label="Message")
    kind = forms.ChoiceField(choices=[("reply", "Public reply"), ("note", "Internal note")])
    next_status = forms.ChoiceField(required=False, label="Then set the ticket")
    files = MultipleFileField(required=False, label="Attach files")

    def __init__(self, *args, kinds, statuses, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = kinds
        self.fields["next_status"].choices = statuses


def parse_tags(text: str) -> list[str]:
    """Comma-separated tags, as every form of the desk takes them, under the one tag rule."""
    tags = [normal_tag(t) for t in (text or "").split(",") if t.strip()]
    for tag in tags:
        problem = tag_problem(tag)
        if problem:
            raise forms.ValidationError(problem)
    return tags


class PropertiesForm(forms.Form):
    priority = forms.ChoiceField(choices=Priority.choices)
    group = forms.ChoiceField(required=False)
    tags = forms.CharField(required=False, help_text="Comma-separated", max_length=1000)

    def __init__(self, *args, protocol, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["group"].choices = [("", "No group"), *_protocol_choices(protocol, "groups")]

    def clean_tags(self) -> list[str]:
        return parse_tags(self.cleaned_data["tags"])


class AssigneeForm(forms.Form):
    assignee = forms.ModelChoiceField(queryset=Person.objects.none(), required=False, empty_label="Nobody")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = active_people()


class TicketNumberForm(forms.Form):
    other = forms.CharField(label="Ticket number", max_length=20)


class CustomerForm(forms.Form):
    name = forms.CharField(max_length=200)
    email = forms.EmailField(required=False)
    phone = forms.CharField(required=False, max_length=40)
    organization = forms.CharField(required=False, max_length=200)
    timezone = forms.CharField(max_length=64, validators=[validate_timezone])
    language = forms.CharField(max_length=16)

    def clean_email(self):
        return (self.cleaned_data.get("email") or "").strip().lower() or None


class NewTicketForm(forms.Form):
    email = forms.EmailField(required=False, label="Customer email")
    name = forms.CharField(max_length=200, required=False, label="Customer name")
    phone = forms.CharField(max_length=40, required=False, label="Customer phone")
    subject = forms.CharField(max_length=300)
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}), label="First message (sent to the customer)"
    )
    channel = forms.ChoiceField()
    priority = forms.ChoiceField(choices=Priority.choices, initial=Priority.NORMAL)
    tags = forms.CharField(required=False, help_text="Comma-separated")

    def __init__(self, *args, protocol, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].choices = _protocol_choices(protocol, "channels")

    def clean(self):
        data = super().clean()
        # An email that is not valid is already named by its own error; this one is for none at all.
        if not data.get("email") and not data.get("phone") and "email" not in self.errors:
            self.add_error("email", "Give the customer's email, or a phone number for a phone-only customer.")
        if data.get("phone") and not data.get("email") and not data.get("name"):
            self.add_error("name", "A phone-only customer needs a name.")
        return data

    def clean_tags(self) -> list[str]:
        return parse_tags(self.cleaned_data["tags"])

    def tag_list(self) -> list[str]:
        return self.cleaned_data.get("tags") or []


class MacroForm(forms.Form):
    title = forms.CharField(max_length=120)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 8}))
    next_status = forms.ChoiceField(required=False, label="Suggested next status")
    shared = forms.BooleanField(required=False, label="Shared with the whole team")

    def __init__(self, *args, can_share: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["next_status"].choices = [("", "None")] + [
            (s.value, s.label) for s in (Status.OPEN, Status.PENDING, Status.ON_HOLD, Status.SOLVED)
        ]
        if not can_share:
            del self.fields["shared"]


class BulkForm(forms.Form):
    ids = forms.TypedMultipleChoiceField(coerce=int, choices=[])
    action = forms.ChoiceField(choices=[("assign", "Assign"), ("status", "Set status"), ("tag", "Add tag")])
    assignee = forms.CharField(required=False)
    status = forms.CharField(required=False)
    tag = forms.CharField(required=False, max_length=64)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Any ticket number is a valid choice here; access_tickets decides what exists.
        self.fields["ids"].valid_value = lambda value: str(value).isdigit()
