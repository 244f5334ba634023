"""The scheduled report mails the desk has sent (or is sending): one row per schedule entry and instant."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ReportSend(models.Model):
    """A report mailed for one ``reporting.schedule`` entry at one scheduled instant, or sent by
    hand from the schedule page.

    The unique (entry, due_at) pair is the claim: the worker that inserts it sends the mail, any
    other worker's insert fails and it moves on, so a scheduled instant is mailed once however many
    workers run. A send by hand has ``by`` set and its own instant (the moment it was asked for).
    """

    entry = models.CharField(max_length=200, help_text="the schedule entry (its index and its words)")
    due_at = models.DateTimeField(help_text="the scheduled instant (for a send by hand: when it was asked)")
    report = models.CharField(max_length=10, help_text="daily, weekly or monthly")
    first_day = models.DateField()
    last_day = models.DateField()
    recipients = models.JSONField(default=list, help_text="the addresses it went to")
    late = models.BooleanField(default=False, help_text="sent well after its instant (the worker was down)")
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    protocol_version = models.CharField(max_length=40, blank=True)
    claimed_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-due_at"]
        constraints = [
            models.UniqueConstraint(fields=["entry", "due_at"], name="report_sent_once_per_instant")
        ]

    def __str__(self) -> str:
        return f"{self.report} report for {self.first_day}..{self.last_day} at {self.due_at:%Y-%m-%d %H:%M}"


class ScheduleStart(models.Model):
    """When the desk began watching a schedule entry: instants before it are never mailed.

    Written the first time the worker sees an entry (a new desk, a new or edited entry), so a
    protocol that has long been in force does not mail its past; from then on every instant is
    mailed, late when the worker was down."""

    entry = models.CharField(max_length=200, unique=True)
    since = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.entry} since {self.since:%Y-%m-%d %H:%M}"


# --------------------------------------------------------------------------- KPI rollups
# What the reports page sums instead of replaying every ticket (charterdesk/reports/rollups.py,
# charterdesk/engine/kpi_rollups.py). Every row belongs to one build (``build``: the protocol
# version it was computed under and a token of the run that made it); the page reads the build
# named by KpiRollupState, so a rebuild under a new version never shows half done.


class KpiRollupState(models.Model):
    """The rollups the page may read: ``build`` (``<version pk>:<version change>#<token>``), and
    ``built_at``, the instant the worker last brought them up to date: every ticket change and
    survey answer before it (less ``rollups.MARGIN``) is in them. One row."""

    build = models.CharField(max_length=120)
    generation = models.IntegerField(
        default=0,
        help_text="one more at each change of the sums: a page that read across a change reads again",
    )
    built_at = models.DateTimeField()
    started_at = models.DateTimeField(
        help_text="when this build was first made (the facts' horizon counts from it)"
    )

    def __str__(self) -> str:
        return f"KPI rollups {self.build} as of {self.built_at:%Y-%m-%d %H:%M:%S}"


class KpiRollupBuild(models.Model):
    """A build of the rollups under way (``rollups.build_step``): the worker's ``kpi-rollups`` job
    computes a slice of tickets at a time, in id order, and records here how far it got, so other
    jobs run between slices and a stopped worker resumes where it stopped. The page does not read
    it: when every ticket is built and the changes since are counted, it becomes
    ``KpiRollupState``'s build and this row goes. At most one per protocol version (``prefix``);
    a build for a version no longer in force is abandoned and its rows deleted."""

    prefix = models.CharField(max_length=100, unique=True, help_text="rollups.build_prefix of its version")
    build = models.CharField(max_length=120, unique=True)
    version = models.CharField(max_length=40, blank=True, help_text="the version's number, for the page")
    started_at = models.DateTimeField(help_text="when the build began (the facts' horizon counts from it)")
    counted_at = models.DateTimeField(
        help_text="every change before it (less rollups.MARGIN) to a ticket already built is in the build"
    )
    after_ticket = models.BigIntegerField(
        default=0, help_text="the last ticket id built: the next slice starts after it"
    )
    done = models.IntegerField(default=0, help_text="tickets built so far")
    total = models.IntegerField(default=0, help_text="tickets built and still to build, as of the last slice")
    slices = models.IntegerField(default=0)
    claimed_by = models.CharField(max_length=64, blank=True, help_text="the run building a slice now")
    claimed_until = models.DateTimeField(
        null=True, help_text="a claim past this belonged to a run that stopped: another takes the slice over"
    )
    follow_up_at = models.DateTimeField(
        null=True, help_text="when the next slice was queued as a task (at most one queued at a time)"
    )

    def __str__(self) -> str:
        return f"KPI rollups {self.build} being built: {self.done} of {self.total} tickets"


class KpiTicketFacts(models.Model):
    """One ticket's KPI facts (``engine.kpi_rollups.ticket_facts``) as JSON, for one build."""

    build = models.CharField(max_length=120)
    ticket_id = models.BigIntegerField()
    facts = models.TextField(help_text="a JSON list of facts, each a list of Fact's fields")
    events = models.CharField(
        max_length=60,
        blank=True,
        help_text="the history (SLA events, survey answers) the facts were made from (figures.event_mark)",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["build", "ticket_id"], name="kpi_facts_once_per_ticket")
        ]

    def __str__(self) -> str:
        return f"KPI facts of ticket {self.ticket_id} ({self.build})"


class KpiFactDay(models.Model):
    """A day on which a ticket has a fact, or a fact's bound (``lo``/``hi``): the tickets a day's
    sums are made from. A report judged during the day counts the ``pending`` facts from
    themselves (the day's sums judge the whole day)."""

    build = models.CharField(max_length=120)
    day = models.DateField()
    ticket_id = models.BigIntegerField()
    pending = models.TextField(
        blank=True,
        help_text="the ticket's facts with an instant on this day that was still to come when they "
        "were computed (a breach due later, a change an escalation will make), as JSON",
    )

    class Meta:
        indexes = [
            models.Index(fields=["build", "day"], name="kpi_fact_day"),
            models.Index(fields=["build", "ticket_id"], name="kpi_fact_day_ticket"),
        ]

    def __str__(self) -> str:
        return f"ticket {self.ticket_id} has KPI facts on {self.day} ({self.build})"


class KpiDaySums(models.Model):
    """The facts of one day summed for the whole desk (``dimension`` empty) or one slice (a
    group, channel, priority or agent; or, for the teams' reports, a channel, priority or agent
    within a group: ``dimension`` ``g/channel``, ``g/priority`` or ``g/agent`` and ``slice_key``
    ``<group>/<key>``, see ``kpi_rollups.CROSS``), split by the days of the facts' bounds (``prev_day``,
    ``lo_day``, ``hi_day``, mostly none). ``backlog`` is the day's change of the backlog (also in
    ``sums``, kept apart so the database sums it over the days before a period); ``sums`` is
    ``Sums.encode()`` as JSON."""

    build = models.CharField(max_length=120)
    day = models.DateField()
    prev_day = models.DateField(null=True)
    lo_day = models.DateField(null=True)
    hi_day = models.DateField(null=True)
    dimension = models.CharField(max_length=10, blank=True)
    slice_key = models.CharField(max_length=200, blank=True, help_text="empty: no group, or no agent yet")
    backlog = models.IntegerField(default=0)
    sums = models.TextField()

    class Meta:
        indexes = [models.Index(fields=["build", "day"], name="kpi_day_sums")]

    def __str__(self) -> str:
        return f"KPI sums of {self.day} for {self.dimension or 'everything'} {self.slice_key or ''}".rstrip()
