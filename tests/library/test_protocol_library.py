"""The protocol library: drafts, publishing, the version in force, and who may do what."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from charterdesk.audit.actions import verify_chain
from charterdesk.audit.models import AuditEntry
from charterdesk.library.actions import PublishRefused, do_create_draft, do_publish, set_effective_date
from charterdesk.library.models import ProtocolVersion, PublishedVersionIsFinal
from charterdesk.library.versions import next_scheduled, version_in_force
from tests.shared import DEMO_SINCE


def _bump(source: str, version: str) -> str:
    return source.replace('version: "3.2"', f'version: "{version}"', 1)


def test_demo_puts_the_example_in_force(demo):
    """After the demo loads, version 3.2 of the example is in force and its publish is audited."""
    in_force = version_in_force()
    assert in_force.version == "3.2"
    assert in_force.company == "Acme Outdoor Gear"
    publish = AuditEntry.objects.get(action="protocol.publish")
    assert publish.protocol_version == "3.2"
    assert verify_chain().ok


def test_published_versions_never_change(demo):
    """A published protocol version can be neither edited nor deleted (PublishedVersionIsFinal)."""
    version = version_in_force()
    version.source += "\n# sneaky edit\n"
    with pytest.raises(PublishedVersionIsFinal):
        version.save()
    with pytest.raises(PublishedVersionIsFinal):
        version.delete()


def test_publishing_writes_the_effective_date_into_the_file(demo, example_source):
    """The published text says from when it governs."""
    assert "effective: " + DEMO_SINCE.date().isoformat() in version_in_force().source
    assert set_effective_date("format: 1\nversion: '1'\n", dt.date(2027, 1, 2)) == (
        "format: 1\nversion: '1'\neffective: 2027-01-02\n"
    )


def test_a_draft_with_errors_cannot_be_published(demo, example_source):
    """Publishing a 3.3 draft with 'first_response: soon' is refused with its problems ('not a duration'); 3.2
    stays in force."""
    manager = demo["manager"]
    draft = do_create_draft(
        _bump(example_source, "3.3").replace("first_response: 30m", "first_response: soon"), actor=manager
    )
    with pytest.raises(PublishRefused) as refused:
        do_publish(draft, actor=manager)
    assert refused.value.problems
    assert "not a duration" in refused.value.problems[0].message
    assert version_in_force().version == "3.2"


def test_the_same_version_number_cannot_be_published_twice(demo, example_source):
    """Publishing a draft numbered 3.2 again is refused: '3.2 is already published; raise the version
    number'."""
    manager = demo["manager"]
    draft = do_create_draft(example_source, actor=manager)
    with pytest.raises(PublishRefused, match=r"3\.2 is already published; raise the version number"):
        do_publish(draft, actor=manager)


def test_a_version_that_drops_a_held_role_names_the_people(demo, example_source):
    """Dropping the 'agent' role while Alex holds it is refused, naming Alex."""
    manager = demo["manager"]
    source = _bump(example_source, "4.0")
    # Rename the agent role everywhere it is referenced.
    source = source.replace("- id: agent", "- id: associate").replace(
        "reports_to: lead\n      responsibilities:\n        - Answer",
        "reports_to: lead\n      responsibilities:\n        - Answer",
    )
    source = (
        source.replace("roles: [agent]", "roles: [associate]")
        .replace("required_for: [agent, lead]", "required_for: [associate, lead]")
        .replace("required_for: [agent]", "required_for: [associate]")
        .replace("customer_data: [agent, lead, manager]", "customer_data: [associate, lead, manager]")
    )
    draft = do_create_draft(source, actor=manager)
    with pytest.raises(PublishRefused, match="role 'agent' is dropped but still held by Alex Kim"):
        do_publish(draft, actor=manager)


def test_a_future_version_takes_over_by_itself(demo, example_source):
    """Version 3.3 published for tomorrow is scheduled now and in force tomorrow, with no job to run."""
    manager = demo["manager"]
    now = timezone.now()
    tomorrow = now + dt.timedelta(days=1)
    draft = do_create_draft(_bump(example_source, "3.3"), actor=manager)
    do_publish(draft, actor=manager, effective_at=tomorrow, now=now)
    assert version_in_force(now).version == "3.2"
    assert next_scheduled(now).version == "3.3"
    assert version_in_force(tomorrow + dt.timedelta(seconds=1)).version == "3.3"
    assert next_scheduled(tomorrow + dt.timedelta(seconds=1)) is None


def test_an_effective_date_in_the_past_is_refused(demo, example_source):
    """Publishing 3.3 to take effect two days ago is refused: the date 'cannot be in the past'."""
    manager = demo["manager"]
    draft = do_create_draft(_bump(example_source, "3.3"), actor=manager)
    with pytest.raises(PublishRefused, match="cannot be in the past"):
        do_publish(draft, actor=manager, effective_at=timezone.now() - dt.timedelta(days=2))


def test_an_effective_date_more_than_a_year_ahead_is_refused(signed_in, demo, example_source):
    """9999-12-31 is a typo, not a plan: refused on the page with the latest date allowed."""
    draft = do_create_draft(_bump(example_source, "3.3"), actor=demo["manager"])
    response = signed_in("manager").post(
        reverse("library:publish", args=[draft.pk]), {"when": "later", "effective_date": "9999-12-31"}
    )
    assert response.status_code == 200
    assert "the effective date can be at most a year ahead" in response.content.decode()
    assert ProtocolVersion.objects.get(pk=draft.pk).is_draft


# --------------------------------------------------------------------------- pages


def test_an_agent_cannot_reach_the_publish_page(signed_in, demo, example_source):
    """403 for the agent on the library, the editor and the publish page; the handbook is open to all."""
    draft = do_create_draft(_bump(example_source, "3.3"), actor=demo["manager"])
    client = signed_in("agent")
    assert client.get(reverse("handbook:index")).status_code == 200
    assert client.get(reverse("library:publish", args=[draft.pk])).status_code == 403
    assert client.post(reverse("library:publish", args=[draft.pk]), {"when": "now"}).status_code == 403
    assert client.get(reverse("library:edit", args=[draft.pk])).status_code == 403
    assert client.get(reverse("library:library")).status_code == 403
    assert ProtocolVersion.objects.get(pk=draft.pk).is_draft


def test_a_signed_out_visitor_is_sent_to_sign_in(client, demo):
    """A visitor who is not signed in and opens the handbook, the library, people or the audit log is sent to
    the sign-in page."""
    for name in ("handbook:index", "library:library", "accounts:people", "audit:log"):
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:sign-in"))


def test_manager_uploads_fixes_and_publishes(signed_in, demo, example_source):
    """Upload with an error -> the error at its line -> fix in the editor -> publish now."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = signed_in("manager")
    broken = _bump(example_source, "3.3").replace("first_response: 2m", "first_response: 2 minutes")
    response = client.post(reverse("library:new"), {"file": SimpleUploadedFile("p.yaml", broken.encode())})
    draft = ProtocolVersion.objects.get(version="3.3")
    assert response["Location"] == reverse("library:edit", args=[draft.pk])
    page = client.get(response["Location"]).content.decode()
    line = next(n for n, text in enumerate(broken.splitlines(), 1) if "2 minutes" in text)
    assert f'data-line="{line}"' in page
    assert "&#x27;2 minutes&#x27; is not a duration; write 2m" in page
    # The publish page of the broken draft sends back to the editor and claims no comparison.
    refused = client.get(reverse("library:publish", args=[draft.pk])).content.decode()
    assert "Fix the file's errors first" in refused
    assert "The changes are listed once the draft loads without errors" in refused
    assert "No differences" not in refused
    client.post(
        reverse("library:edit", args=[draft.pk]), {"source": broken.replace("2 minutes", "2m"), "note": ""}
    )
    # A request that does not say when (or says nonsense) publishes nothing.
    for when in ({}, {"when": "bogus"}):
        response = client.post(reverse("library:publish", args=[draft.pk]), when)
        assert response.status_code == 200 and b"choose whether the version governs now" in response.content
        assert version_in_force().version != "3.3"
    fixed = client.get(reverse("library:publish", args=[draft.pk])).content.decode()
    assert "What changes from version 3.2" in fixed and "once the draft loads" not in fixed
    response = client.post(reverse("library:publish", args=[draft.pk]), {"when": "now"})
    assert response.status_code == 302
    assert version_in_force().version == "3.3"


def test_a_new_draft_with_nothing_in_it_says_what_the_page_offers(signed_in, demo):
    """With a version in force the page offers an upload and a copy, not a paste box: the error
    asks for what is there, and no draft is made."""
    response = signed_in("manager").post(reverse("library:new"), {"note": "nothing"})
    assert response.status_code == 200
    assert "Choose a protocol file to upload, or copy the version in force." in response.content.decode()
    assert ProtocolVersion.objects.count() == 1


def test_validation_endpoint_reports_problems_without_saving(signed_in, demo, example_source):
    """Checking 'format: 2' in the editor lists its problems and saves no version."""
    client = signed_in("manager")
    response = client.post(reverse("library:validate"), {"source": "format: 2\n"})
    assert response.status_code == 200
    assert b"problem" in response.content
    assert ProtocolVersion.objects.count() == 1


def test_downloads_as_markdown_and_pdf(signed_in, demo):
    """An agent downloads the version in force as Markdown (naming Acme Outdoor Gear) and as a PDF."""
    client = signed_in("agent")
    version = version_in_force()
    md = client.get(reverse("library:download", args=[version.pk, "md"]))
    assert md.status_code == 200 and "Acme Outdoor Gear" in md.content.decode()
    pdf = client.get(reverse("library:download", args=[version.pk, "pdf"]))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_diff_page_between_two_versions(signed_in, demo, example_source):
    """The diff page shows a refund window of 30 -> 45 days between 3.2 and a draft; a version that does not
    exist ('abc', 999) is 404 naming it; an agent may not see a draft's diff (403)."""
    manager = demo["manager"]
    draft = do_create_draft(
        _bump(example_source, "3.3").replace("window_days: 30", "window_days: 45"), actor=manager
    )
    client = signed_in("manager")
    page = client.get(
        reverse("library:diff"), {"old": version_in_force().pk, "new": draft.pk}
    ).content.decode()
    assert "30" in page and "45" in page
    # A version that does not exist is not found (not a permission problem); a draft is, for an agent.
    for old in ("abc", "999"):
        missing = client.get(reverse("library:diff"), {"old": old, "new": draft.pk})
        assert missing.status_code == 404
        assert f"There is no protocol version #{old}" in missing.content.decode()
    agent = signed_in("agent")
    assert (
        agent.get(reverse("library:diff"), {"old": version_in_force().pk, "new": draft.pk}).status_code == 403
    )


def test_handbook_search_finds_a_clause(signed_in, demo):
    """Searching the handbook for 'carrier trace' highlights matches; 'zeppelin' says no section mentions
    it."""
    client = signed_in("agent")
    page = client.get(reverse("handbook:index"), {"q": "carrier trace"}).content.decode()
    assert "<mark>" in page
    assert "No section mentions" not in page
    none = client.get(reverse("handbook:index"), {"q": "zeppelin"}).content.decode()
    assert "No section mentions" in none


def test_handbook_banner_announces_a_scheduled_version(signed_in, demo, example_source):
    """With 3.3 published to take over in three days, the handbook announces 'Version 3.3 of the protocol
    takes over on' its date."""
    manager = demo["manager"]
    draft = do_create_draft(_bump(example_source, "3.3"), actor=manager)
    do_publish(draft, actor=manager, effective_at=timezone.now() + dt.timedelta(days=3))
    page = signed_in("agent").get(reverse("handbook:index")).content.decode()
    assert "Version 3.3 of the protocol takes over on" in page


def test_a_scheduled_version_is_never_silently_overridden(demo, example_source):
    """3.3 scheduled later blocks publishing 3.4 now (it would replace it); withdrawing 3.3 unblocks it."""
    from charterdesk.library.actions import do_withdraw

    manager = demo["manager"]
    now = timezone.now()
    scheduled = do_publish(
        do_create_draft(_bump(example_source, "3.3"), actor=manager),
        actor=manager,
        effective_at=now + dt.timedelta(days=3),
    )
    newer = do_create_draft(_bump(example_source, "3.4"), actor=manager)
    with pytest.raises(
        PublishRefused, match=r"version 3\.3 is scheduled to take over on .* withdraw 3\.3 first"
    ):
        do_publish(newer, actor=manager)
    do_withdraw(scheduled, actor=manager)
    assert next_scheduled() is None
    do_publish(newer, actor=manager)
    assert version_in_force().version == "3.4"
    assert AuditEntry.objects.filter(action="protocol.withdraw").count() == 1


def test_only_a_version_not_yet_in_force_can_be_withdrawn(demo):
    """Withdrawing the version in force is refused: it is 'not scheduled'."""
    from charterdesk.library.actions import do_withdraw

    with pytest.raises(PublishRefused, match="not scheduled"):
        do_withdraw(version_in_force(), actor=demo["manager"])


def test_publishing_moves_people_off_a_dropped_role(demo, example_source):
    """A version renaming 'agent' publishes when Alex is moved to the new role in the same step."""
    from charterdesk.accounts.models import Person

    manager = demo["manager"]
    source = _bump(example_source, "4.0").replace("- id: agent", "- id: associate")
    for old, new in (
        ("roles: [agent]", "roles: [associate]"),
        ("required_for: [agent, lead]", "required_for: [associate, lead]"),
        ("required_for: [agent]", "required_for: [associate]"),
        ("customer_data: [agent, lead, manager]", "customer_data: [associate, lead, manager]"),
    ):
        source = source.replace(old, new)
    draft = do_create_draft(source, actor=manager)
    with pytest.raises(PublishRefused, match="choose the role they move to"):
        do_publish(draft, actor=manager, role_moves={"agent": "emperor"})
    do_publish(draft, actor=manager, role_moves={"agent": "associate"})
    assert Person.objects.get(email="alex@acme.example").role_ids == ["associate"]
    move = AuditEntry.objects.filter(action="person.roles").latest("id")
    assert "moved from 'agent' to 'associate' by publishing 4.0" in move.summary


def test_command_line_publish_needs_the_permission_and_leaves_nothing_when_refused(demo, tmp_path):
    """An agent cannot publish from the command line; a refused publish leaves no draft and no audit entry."""
    from django.core.management import CommandError, call_command

    from charterdesk.demo.loader import EXAMPLE

    newer = tmp_path / "v35.yaml"
    newer.write_text(EXAMPLE.read_text().replace('version: "3.2"', 'version: "3.5"'))
    before = (ProtocolVersion.objects.count(), AuditEntry.objects.count())
    with pytest.raises(CommandError, match=r"do not grant protocol\.publish"):
        call_command("protocol", "publish", str(newer), "--as", "alex@acme.example")
    with pytest.raises(CommandError, match="already published"):
        call_command("protocol", "publish", str(EXAMPLE), "--as", "dana@acme.example")
    assert (ProtocolVersion.objects.count(), AuditEntry.objects.count()) == before
    call_command("protocol", "publish", str(newer), "--as", "dana@acme.example")
    assert version_in_force().version == "3.5"


def test_effective_dates_mean_the_start_of_the_day_in_the_teams_zone(demo, tmp_path):
    """A date on the command line or the publish page means midnight in New York, the office's zone."""
    from django.core.management import call_command

    from charterdesk.demo.loader import EXAMPLE

    day = (timezone.now() + dt.timedelta(days=5)).date()
    newer = EXAMPLE.read_text().replace('version: "3.2"', 'version: "3.6"')
    path = tmp_path / "v36.yaml"
    path.write_text(newer)
    call_command(
        "protocol", "publish", str(path), "--as", "dana@acme.example", "--effective", day.isoformat()
    )
    version = ProtocolVersion.objects.get(version="3.6")
    local = version.effective_at.astimezone(ZoneInfo("America/New_York"))
    assert (local.date(), local.hour, local.minute) == (day, 0, 0)
    entry = AuditEntry.objects.get(action="protocol.publish", protocol_version="3.6")
    assert f"{version.effective_at.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC" in entry.summary


def test_a_download_in_an_unknown_format_is_not_found(signed_in, demo):
    """/protocols/N/download.exe is a page that does not exist, not a PDF under another name."""
    client = signed_in("agent")
    version = version_in_force()
    for fmt in ("exe", "html", "PDF"):
        response = client.get(reverse("library:download", args=[version.pk, fmt]))
        assert response.status_code == 404
        assert response.get("Content-Type", "").startswith("text/html")


def test_compare_opens_on_the_previous_published_version_to_the_selected_one(signed_in, demo, example_source):
    """The compare page, opened without a choice, shows what the last publish changed (3.2 -> 3.3),
    never a version against itself; opened on a draft, it compares the version in force to it."""
    manager = demo["manager"]
    first = version_in_force()
    newer = do_create_draft(
        _bump(example_source, "3.3").replace("window_days: 30", "window_days: 45"), actor=manager
    )
    do_publish(newer, actor=manager, effective_at=timezone.now() - dt.timedelta(seconds=1))
    client = signed_in("manager")
    response = client.get(reverse("library:diff"))
    assert response.context["old"].pk == first.pk and response.context["new"].pk == newer.pk
    page = response.content.decode()
    assert "From 3.2 to 3.3" in page and "No differences" not in page
    draft = do_create_draft(_bump(example_source, "3.4"), actor=manager)
    chosen = client.get(reverse("library:diff"), {"new": draft.pk})
    assert chosen.context["old"].pk == newer.pk and chosen.context["new"].pk == draft.pk
    assert client.get(reverse("library:diff"), {"new": first.pk}).context["old"] is None


def test_the_handbook_page_words_each_promise_from_the_registry(signed_in, demo):
    """The web handbook words each promise from the registry of what the desk enforces: reply checks
    and escalations are enforced, so the page promises them and never says they are not."""
    page = signed_in("agent").get(reverse("handbook:index")).content.decode()
    assert "The desk checks every written public reply" in page
    assert "The desk does not check replies against these rules yet" not in page
    assert "The desk watches every response-time target" in page


def test_a_copy_proposes_the_next_free_number_and_the_editor_flags_a_taken_one(signed_in, demo):
    """Copying 3.2 makes a draft numbered 3.3, not a second 3.2 the editor calls valid; a draft set
    back to 3.2 is flagged in the editor at the version's line, and saving it does not say valid."""
    client = signed_in("manager")
    response = client.post(reverse("library:new"), {"start": "copy", "from": version_in_force().pk})
    draft = ProtocolVersion.objects.get(status="draft")
    assert response.url == reverse("library:edit", args=[draft.pk])
    assert draft.version == "3.3"
    page = client.get(reverse("library:edit", args=[draft.pk])).content.decode()
    assert "The file is valid" in page
    taken = draft.source.replace('version: "3.3"', 'version: "3.2"', 1)
    line = next(n for n, text in enumerate(taken.splitlines(), start=1) if text.startswith("version:"))
    checked = client.post(reverse("library:validate"), {"source": taken}).content.decode()
    assert f'data-line="{line}"' in checked
    assert "version 3.2 is already published; raise the version number (the next free one is 3.3)" in checked
    saved = client.post(reverse("library:edit", args=[draft.pk]), {"source": taken}, follow=True)
    text = saved.content.decode()
    assert "Saved, with 1 error to fix before publishing." in text and "The file is valid" not in text


def test_next_version_by_hand():
    """Hand-checked proposals: the last figure goes up past every published number."""
    from charterdesk.library.versions import next_version, with_version

    assert next_version("3.2", {"3.2"}) == "3.3"
    assert next_version("3.2", {"3.2", "3.3"}) == "3.4"
    assert next_version("3.9", set()) == "3.10"
    assert next_version("v9", set()) == "v10"
    assert next_version("draft", {"draft.1"}) == "draft.2"
    assert with_version('format: 1\nversion: "3.2"  # ours\n', "3.3") == 'format: 1\nversion: "3.3"  # ours\n'
    assert with_version("format: 1\nversion: 3.2\n", "3.10") == 'format: 1\nversion: "3.10"\n'


def test_the_compare_page_groups_changes_by_section_old_beside_new(signed_in, demo, example_source):
    """The compare page is not a bare list: each handbook section that changed is a heading, and
    each change shows its clause with the old value beside the new one."""
    manager = demo["manager"]
    draft = do_create_draft(
        _bump(example_source, "3.3")
        .replace("window_days: 30", "window_days: 45")
        .replace("first_response: 30m", "first_response: 20m"),
        actor=manager,
    )
    response = signed_in("manager").get(
        reverse("library:diff"), {"old": version_in_force().pk, "new": draft.pk}
    )
    titles = [s["title"] for s in response.context["sections"]]
    assert "Returns and refunds" in titles and "Response times and SLAs" in titles
    page = response.content.decode()
    assert "<h3>Returns and refunds" in page
    assert '<td class="before">30 days</td><td class="after">45 days</td>' in page
    assert "refunds.window_days" in page
    assert '<ul class="diff">' not in page
