from django.apps import AppConfig


class LibraryConfig(AppConfig):
    """The protocol library: versions of the protocol file (drafts, published, in force, scheduled).

    The pure ``charterdesk.protocol`` package reads one file; this app keeps the versions. Its
    label stays ``protocols``, the name its tables and migrations have always had."""

    name = "charterdesk.library"
    label = "protocols"
    verbose_name = "Protocol library"
