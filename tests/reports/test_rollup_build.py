"""The KPI rollups built afresh a slice of tickets at a time: the page switches over only when the
build is complete, with every change made meanwhile counted; a stopped worker goes on where it
stopped; a newer version abandons the build; two runs never build the same slice."""

from __future__ import annotations

import datetime as dt
import re

import msgspec
import pytest

from charterdesk.library.versions import protocol_of, version_in_force
from charterdesk.reports import figures, rollups
from charterdesk.reports.access import ALL, Scope
from charterdesk.reports.models import (
    KpiDaySums,
    KpiFactDay,
    KpiRollupBuild,
    KpiRollupState,
    KpiTicketFacts,
)
from charterdesk.tickets.models import Ticket
from tests.worker.test_worker import Turns, run_in_threads

from .conftest import WEEK, at
from .test_rollups import both, same

UTC = dt.UTC
# The demo's tickets are loaded as of this moment (spread over the weeks before it).
LOADED = dt.datetime(2026, 3, 9, 12, tzinfo=UTC)


def minutes(n: int) -> dt.datetime:
    return LOADED + dt.timedelta(minutes=n)


def engine_and_prefix():
    version = version_in_force()
    return figures.kpi_engine(version, protocol_of(version)), rollups.build_prefix(version)


def load(count: int, seed: int = 7) -> int:
    """``count`` demo tickets with their histories; how many tickets the desk has then."""
    from charterdesk.demo.tickets import load_demo_tickets

    load_demo_tickets(count, seed=seed, now=LOADED, workers=1)
    return Ticket.objects.count()


def stored(build: str) -> dict:
    """A build's rows by what they hold (not their ids): each day's sums, each ticket's facts and
    the history they were made from, and the days each ticket is found on."""
    sums = {}
    for day, prev, lo, hi, dimension, key, backlog, text in KpiDaySums.objects.filter(
        build=build
    ).values_list("day", "prev_day", "lo_day", "hi_day", "dimension", "slice_key", "backlog", "sums"):
        assert (day, prev, lo, hi, dimension, key) not in sums, "one row per day and slice"
        sums[(day, prev, lo, hi, dimension, key)] = (backlog, msgspec.json.decode(text))
    facts = {
        ticket: (rollups.decode_facts(text), events)
        for ticket, text, events in KpiTicketFacts.objects.filter(build=build).values_list(
            "ticket_id", "facts", "events"
        )
    }
    days = sorted(KpiFactDay.objects.filter(build=build).values_list("day", "ticket_id"))
    return {"sums": sums, "facts": facts, "days": days}


def builds_with_rows() -> set[str]:
    return {
        name
        for model in (KpiDaySums, KpiTicketFacts, KpiFactDay)
        for name in model.objects.values_list("build", flat=True).distinct()
    }


def publish(number: str, normal_first_response: str, manager, now: dt.datetime) -> None:
    """Publish the version in force again as ``number``, with another first-response target."""
    from charterdesk.library.actions import do_create_draft, do_publish

    version = version_in_force()
    source = version.source.replace(f'version: "{version.version}"', f'version: "{number}"', 1)
    source, replaced = re.subn(
        r"(first_response: \{urgent: 1h, high: 2h, normal: )\w+",
        rf"\g<1>{normal_first_response}",
        source,
        count=1,
    )
    assert replaced == 1
    do_publish(do_create_draft(source, actor=manager), actor=manager, now=now)


# --------------------------------------------------------------------------- slices


@pytest.mark.django_db
def test_a_build_in_slices_of_4_ends_after_ceil_n_over_4_runs_with_the_sums_of_a_build_in_one_go(
    demo, monkeypatch
):
    """A desk of 30 tickets built 4 tickets per run: the page reads the histories and says how far
    the build is ("8 of 30 tickets") until the run that builds the last slice switches it over;
    that takes ceil(30 / 4) = 8 runs, and the day sums, facts and days are exactly those of a build
    made in one go."""
    count = load(30)
    assert count == 30
    runs = -(-count // 4)
    engine, prefix = engine_and_prefix()
    number = version_in_force().version
    words = rollups.rebuilding(prefix, number).words
    assert words == (
        f"Figures are computed from the ticket histories: the worker has not begun building the "
        f"rollups for version {number} yet."
    )
    for run in range(1, runs + 1):
        assert rollups.refresh(minutes(run), size=4) == min(4, count - 4 * (run - 1))
        if run < runs:
            assert rollups.current_state(prefix) is None  # the page still reads the histories
            row = KpiRollupBuild.objects.get()
            assert (row.done, row.total, row.slices) == (4 * run, count, run)
            assert rollups.rebuilding(prefix, number).words == (
                f"Figures are computed from the ticket histories while the rollups are rebuilt for "
                f"version {number}: {4 * run:,} of {count:,} tickets."
            )
    state = rollups.current_state(prefix)
    assert state is not None and not KpiRollupBuild.objects.exists()
    assert rollups.rebuilding(prefix, number) is None
    sliced = stored(state.build)
    assert len(sliced["facts"]) == count

    monkeypatch.setattr(rollups, "BATCH", 5)  # one go, the histories read 5 tickets at a time
    assert rollups.rebuild(engine, prefix, minutes(runs + 1), size=10**6) == count
    one_go = rollups.current_state(prefix).build
    assert one_go != state.build
    assert stored(one_go) == sliced
    assert builds_with_rows() == {one_go}  # the replaced build's rows went


@pytest.mark.django_db
def test_the_page_from_a_build_made_in_slices_equals_the_engine_over_the_histories(week, demo):
    """The four tickets of the week built one per run: once switched over, every figure,
    breakdown and trend point of the page is the engine's own over the histories."""
    for run in range(4):
        rollups.refresh(at(9, 12) + dt.timedelta(minutes=run), size=1)
    assert KpiRollupState.objects.exists() and not KpiRollupBuild.objects.exists()
    for now in (at(9, 13), at(6, 4, 30)):
        fast, raw = both(Scope(ALL), *WEEK, now)
        same(fast, raw)


@pytest.mark.django_db
def test_a_build_stopped_between_slices_goes_on_from_the_recorded_ticket_after_a_restart(demo):
    """Two runs build 3 tickets each; the worker stops and a new process starts (nothing kept in
    memory): its run builds tickets 7 to 9, not 1 to 3 again, under the same build."""
    count = load(10)
    ids = sorted(Ticket.objects.values_list("pk", flat=True))
    rollups.refresh(minutes(0), size=3)
    rollups.refresh(minutes(1), size=3)
    row = KpiRollupBuild.objects.get()
    assert (row.done, row.after_ticket) == (6, ids[5])
    # A new process: no engine, no day cutter, no page cache from before.
    figures._engines.clear()
    figures._prefixes.clear()
    rollups._cutters.clear()
    assert rollups.refresh(minutes(120), size=3) == 3
    again = KpiRollupBuild.objects.get()
    assert again.build == row.build and (again.done, again.after_ticket) == (9, ids[8])
    assert (
        sorted(KpiTicketFacts.objects.filter(build=row.build).values_list("ticket_id", flat=True)) == ids[:9]
    )
    runs = 3
    while KpiRollupBuild.objects.exists():
        rollups.refresh(minutes(120 + runs), size=3)
        runs += 1
    assert runs == -(-count // 3)
    assert KpiRollupState.objects.get().build == row.build


@pytest.mark.django_db
def test_a_run_that_comes_just_after_the_switch_does_not_begin_the_build_again(week, demo):
    """A run that decided to go on with the build just before another run switched the page over
    to it finds the build done and begins no other: no build under way, the page's rollups kept."""
    rollups.refresh(at(9, 12))
    state = KpiRollupState.objects.get()
    engine, prefix = engine_and_prefix()
    step = rollups.build_step(engine, prefix, at(9, 12, 1), size=2)
    assert (step.build, step.sliced, step.more) == ("", 0, False)
    assert not KpiRollupBuild.objects.exists()
    assert KpiRollupState.objects.get().build == state.build


@pytest.mark.django_db
def test_a_slice_that_fails_midway_writes_nothing_and_is_built_by_the_next_run(demo, monkeypatch):
    """A run that fails while writing its slice (facts written, day sums not) leaves the build as
    the run before left it, the claim given back; the next run builds that slice."""
    load(10)
    rollups.refresh(minutes(0), size=3)

    def fail(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(rollups, "_change_sums", fail)
    with pytest.raises(RuntimeError):
        rollups.refresh(minutes(1), size=3)
    row = KpiRollupBuild.objects.get()
    assert (row.done, row.claimed_by) == (3, "")
    assert KpiTicketFacts.objects.count() == 3
    monkeypatch.undo()
    assert rollups.refresh(minutes(2), size=3) == 3
    assert KpiRollupBuild.objects.get().done == 6


@pytest.mark.django_db
def test_a_slice_claimed_by_a_worker_that_was_killed_is_built_after_ten_minutes(demo):
    """A worker killed in the middle of a slice keeps its claim: runs within ten minutes of it
    build nothing (another run might still be at it), the first run after builds the slice."""
    load(10)
    rollups.refresh(minutes(0), size=3)
    # What a run that began at minute 1 and was killed mid-slice leaves behind.
    KpiRollupBuild.objects.update(claimed_by="killed", claimed_until=minutes(1) + rollups.CLAIM_HOLD)
    assert rollups.refresh(minutes(5), size=3) == 0
    assert KpiRollupBuild.objects.get().done == 3
    assert rollups.refresh(minutes(11), size=3) == 3
    assert KpiRollupBuild.objects.get().done == 6


# --------------------------------------------------------------------------- changes during a build


@pytest.mark.django_db
def test_tickets_changed_after_their_slice_are_counted_right_at_the_switch(week, demo, answers):
    """A and B are built in the first slice; then B gets a reply, a solve and a CSAT 4, and A is
    reopened. The next run counts A and B afresh before building C and D and switching over: the
    page shows three CSAT answers and equals the engine over the histories, and the sums are
    those of a build made in one go after the changes."""
    from charterdesk.tickets.actions import do_reply, do_set_status

    rollups.refresh(at(6, 18), size=2)
    build = KpiRollupBuild.objects.get().build
    assert set(KpiTicketFacts.objects.values_list("ticket_id", flat=True)) == {week["A"].pk, week["B"].pk}
    b = week["B"]
    do_reply(
        b,
        author=demo["agent"],
        body="Hello Casey,\n\nDone.\n\nRegards,\nAcme",
        at=at(6, 20),
        send_email=False,
    )
    do_set_status(b, "solved", actor=demo["agent"], at=at(6, 21))
    answers.add(b, at(6, 22), "csat", 4)
    do_set_status(week["A"], "open", actor=demo["agent"], at=at(6, 21, 30))
    assert rollups.refresh(at(6, 23), size=2) == 4  # A and B afresh, then C and D
    assert KpiRollupState.objects.get().build == build
    assert rollups.changed_tickets(at(6, 20), build) == set()  # nothing left for pages to recount
    fast, raw = both(Scope(ALL), *WEEK, at(7, 12))
    same(fast, raw)
    assert fast.figures["csat"]["answered"] == 3
    sliced = stored(build)
    engine, prefix = engine_and_prefix()
    rollups.rebuild(engine, prefix, at(6, 23, 30))
    assert stored(rollups.current_state(prefix).build)["sums"] == sliced["sums"]


@pytest.mark.django_db
def test_a_build_given_up_while_a_run_counts_changes_in_it_gets_no_rows_from_that_run(
    week, demo, monkeypatch
):
    """A and B are built; A is reopened; while the next run counts A afresh, another run gives the
    build up (a newer version) and deletes its rows: the first run then writes nothing of A, C or
    D, so no row of the given-up build is left behind."""
    from charterdesk.tickets.actions import do_set_status

    rollups.refresh(at(6, 18), size=2)
    do_set_status(week["A"], "open", actor=demo["agent"], at=at(6, 20))
    real = rollups.facts_of

    def facts_of(engine, ids, *args, **kwargs):
        found = real(engine, ids, *args, **kwargs)
        if list(ids) == [week["A"].pk]:  # counting A afresh: meanwhile, another run gives it up
            KpiRollupBuild.objects.all().delete()
            rollups.clean_up()
        return found

    monkeypatch.setattr(rollups, "facts_of", facts_of)
    assert rollups.refresh(at(6, 21), size=2) == 1  # A computed afresh, then nothing written
    assert builds_with_rows() == set()
    assert not KpiRollupBuild.objects.exists()


@pytest.mark.django_db
def test_the_rollups_the_page_reads_stay_fresh_while_the_new_ones_are_built(week, demo):
    """Near the facts' horizon a new build begins while the page goes on reading the old one: a
    solve made meanwhile shows on the page from the old rollups (the worker counts it there), and
    in the new ones once they take over."""
    from charterdesk.tickets.actions import do_set_status

    rollups.refresh(at(6, 18))
    old = KpiRollupState.objects.get()
    near = old.started_at + rollups.HORIZON - rollups.RENEW_BEFORE
    _engine, prefix = engine_and_prefix()
    rollups.refresh(near, size=2)
    assert KpiRollupBuild.objects.get().done == 2
    assert rollups.current_state(prefix).build == old.build  # the page still reads the old build
    assert rollups.rebuilding(prefix, "3.2") is None  # and says nothing
    do_set_status(week["B"], "solved", actor=demo["agent"], at=near + dt.timedelta(seconds=30))
    assert rollups.changed_tickets(near, old.build) == {week["B"].pk}
    rollups.refresh(near + dt.timedelta(minutes=1), size=1)
    assert old.build == rollups.current_state(prefix).build
    assert rollups.changed_tickets(near, old.build) == set()  # counted in the old build
    rollups.refresh(near + dt.timedelta(minutes=2), size=1)
    state = rollups.current_state(prefix)
    assert state.build != old.build and state.started_at == near
    assert builds_with_rows() == {state.build}
    last = near.date().isoformat()
    fast, raw = both(
        Scope(ALL), (near.date() - dt.timedelta(days=6)).isoformat(), last, near + dt.timedelta(minutes=3)
    )
    same(fast, raw)
    assert fast.figures["fcr"]["solved"] == 1  # B


@pytest.mark.django_db
def test_a_version_published_during_a_build_abandons_it_and_its_rows_go(week, demo):
    """Version 3.3 is published and its build is half done when 3.4 is published: the next run
    gives up 3.3's build (every row of it goes) and begins 3.4's; the page reads the histories
    throughout, and 3.4's rollups once built, with 3.2's rows gone."""
    manager = demo["manager"]
    rollups.refresh(at(6, 18))
    old = KpiRollupState.objects.get().build
    publish("3.3", "40h", manager, at(9, 11))
    _engine, prefix33 = engine_and_prefix()
    rollups.refresh(at(9, 12), size=2)
    half = KpiRollupBuild.objects.get()
    assert (half.version, half.done, half.prefix) == ("3.3", 2, prefix33)
    assert KpiTicketFacts.objects.filter(build=half.build).count() == 2
    assert rollups.rebuilding(prefix33, "3.3").words.endswith("version 3.3: 2 of 4 tickets.")

    publish("3.4", "30h", manager, at(9, 13))
    _engine, prefix34 = engine_and_prefix()
    rollups.refresh(at(9, 14), size=2)
    assert half.build not in builds_with_rows()
    now = KpiRollupBuild.objects.get()
    assert (now.version, now.done, now.prefix) == ("3.4", 2, prefix34)
    assert builds_with_rows() == {old, now.build}  # 3.2's rows stay until the switch, unread
    assert rollups.current_state(prefix34) is None

    rollups.refresh(at(9, 15), size=2)
    assert rollups.current_state(prefix34).build == now.build
    assert builds_with_rows() == {now.build}
    fast, raw = both(Scope(ALL), *WEEK, at(9, 16))
    same(fast, raw)


@pytest.mark.django_db
def test_the_reports_page_says_the_rollups_are_being_rebuilt_and_how_far(week, signed_in):
    """Before the worker's first run the page says it computes from the histories and the worker
    has not begun; with 2 of the 4 tickets built, "... while the rollups are rebuilt for version
    3.2: 2 of 4 tickets."; once they are built, nothing."""
    query = {"period": "custom", "from": WEEK[0], "to": WEEK[1]}
    manager = signed_in("manager")
    page = manager.get("/reports/", query).content.decode()
    assert (
        "Figures are computed from the ticket histories: the worker has not begun building the "
        "rollups for version 3.2 yet." in page
    )
    rollups.refresh(at(9, 12), size=2)
    page = manager.get("/reports/", query).content.decode()
    assert (
        '<p class="muted small" id="rollups-rebuilding">Figures are computed from the ticket histories '
        "while the rollups are rebuilt for version 3.2: 2 of 4 tickets.</p>" in page
    )
    rollups.refresh(at(9, 13), size=2)
    assert 'id="rollups-rebuilding"' not in manager.get("/reports/", query).content.decode()


# --------------------------------------------------------------------------- the worker


@pytest.mark.django_db
def test_each_slice_queues_the_next_once_and_the_worker_runs_them_until_the_switch(
    demo, monkeypatch, django_capture_on_commit_callbacks
):
    """With slices of 3, the job's run queues one follow-up task; a second run before it has run
    queues none (one at a time); the worker's queue then runs slice after slice, each queuing the
    next, until the build is complete and nothing is queued any more."""
    from django_tasks_db.models import DBTaskResult

    from charterdesk.worker.loop import Worker

    count = load(10)
    monkeypatch.setattr(rollups, "SLICE", 3)
    with django_capture_on_commit_callbacks(execute=True):
        rollups.refresh(minutes(0))
        rollups.refresh(minutes(1))
    ready = DBTaskResult.objects.ready()
    assert [r.task_path for r in ready] == ["charterdesk.reports.tasks.continue_rollup_build"]
    assert KpiRollupBuild.objects.get().done == 6
    worker = Worker(worker_id="test-worker")
    ran = 0
    while DBTaskResult.objects.ready().exists():
        with django_capture_on_commit_callbacks(execute=True):
            assert worker.run_next_task()
        ran += 1
    assert ran == -(-(count - 6) // 3)
    assert not KpiRollupBuild.objects.exists()
    assert KpiTicketFacts.objects.count() == count
    assert set(DBTaskResult.objects.values_list("status", flat=True)) == {"SUCCESSFUL"}


@pytest.mark.django_db
def test_the_worker_logs_how_far_the_build_is(demo, caplog):
    """The worker's log says each slice's progress and the switch: 'building the rollups for
    version 3.2: 4 of 6 tickets', then 'the rollups for version 3.2 are built (6 tickets in 2
    slices since ...)'."""
    assert load(6) == 6
    with caplog.at_level("INFO", logger="charterdesk.worker"):
        rollups.refresh(minutes(0), size=4)
        rollups.refresh(minutes(1), size=4)
    assert "kpi-rollups: building the rollups for version 3.2: 4 of 6 tickets" in caplog.messages
    assert (
        "kpi-rollups: the rollups for version 3.2 are built (6 tickets in 2 slices since 2026-03-09 12:00); "
        "the reports page reads them" in caplog.messages
    )


# --------------------------------------------------------------------------- two workers


@pytest.fixture
def desk(transactional_db):
    """The demo desk with ten tickets, committed (for runs on their own connections)."""
    from charterdesk.demo.loader import load_demo
    from tests.shared import DEMO_SINCE

    load_demo(now=DEMO_SINCE)
    return load(10)


def _second_run_during_first_slice(monkeypatch, *, second_at) -> dict:
    """Two workers' runs: worker-0 refreshes at minute 0 and, while it computes its slice's facts,
    worker-1 refreshes at ``second_at`` and ends; then worker-0 goes on. What each run counted."""
    turns = Turns("first computes", "second done")
    real = rollups.facts_of

    def facts_of(*args, **kwargs):
        if threading_name() == "worker-0":
            turns.reach("first computes")
            turns.wait("second done")
        return real(*args, **kwargs)

    monkeypatch.setattr(rollups, "facts_of", facts_of)

    def second():
        turns.wait("first computes")
        try:
            return rollups.refresh(second_at, size=4)
        finally:
            turns.reach("second done")

    return run_in_threads(
        {"worker-0": lambda: rollups.refresh(minutes(0), size=4), "worker-1": second}, turns
    )


def test_a_run_while_another_builds_a_slice_builds_nothing(desk, monkeypatch):
    """Two workers' runs at the same minute: while the first computes its slice, the second finds
    the build claimed and does nothing; the slice is built once."""
    counted = _second_run_during_first_slice(monkeypatch, second_at=minutes(0))
    assert counted == {"worker-0": 4, "worker-1": 0}
    row = KpiRollupBuild.objects.get()
    assert (row.done, row.slices) == (4, 1)
    assert KpiTicketFacts.objects.count() == 4


def test_a_run_that_outlived_its_claim_writes_nothing_over_the_run_that_took_over(desk, monkeypatch):
    """The first run's slice takes longer than its claim; a run eleven minutes later takes the
    slice over and builds it; when the first finishes computing it finds its claim gone and writes
    nothing. Each ticket's facts are stored once, and the finished build's sums are those of a
    build made in one go."""
    counted = _second_run_during_first_slice(monkeypatch, second_at=minutes(11))
    assert counted == {"worker-0": 0, "worker-1": 4}
    row = KpiRollupBuild.objects.get()
    assert (row.done, row.slices, row.claimed_by) == (4, 1, "")
    assert KpiTicketFacts.objects.count() == 4
    monkeypatch.undo()
    while KpiRollupBuild.objects.exists():
        rollups.refresh(minutes(12), size=4)
    engine, prefix = engine_and_prefix()
    sliced = stored(rollups.current_state(prefix).build)
    rollups.rebuild(engine, prefix, minutes(13), size=10**6)
    assert stored(rollups.current_state(prefix).build) == sliced


def threading_name() -> str:
    import threading

    return threading.current_thread().name
