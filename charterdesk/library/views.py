"""The protocol library: versions, drafts in an editor, preview, publish, diff, downloads."""

from __future__ import annotations

import datetime as dt
import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from charterdesk.core.permissions import can, require

from .actions import (
    PublishRefused,
    check_publish,
    do_create_draft,
    do_delete_draft,
    do_publish,
    do_update_draft,
    do_withdraw,
)
from .models import ProtocolVersion, VersionStatus
from .versions import (
    editor_problems,
    load_version,
    next_version,
    published_numbers,
    start_of_day,
    team_zone,
    version_in_force,
    with_version,
)

MAX_UPLOAD_BYTES = 1_000_000
# What a version downloads as; any other ending is a page that does not exist.
DOWNLOAD_FORMATS = ("yaml", "md", "pdf")


def _version(request, version_id: int) -> ProtocolVersion:
    """A version the signed-in person may see: published ones to every reader, drafts to editors."""
    version = get_object_or_404(ProtocolVersion, pk=version_id)
    if version.is_draft:
        require(request, "protocol.view")
    return version


@login_required
def library(request):
    require(request, "protocol.view")
    in_force = version_in_force()
    now = timezone.now()
    versions = ProtocolVersion.objects.select_related("created_by", "published_by")
    rows = []
    for version in versions:
        if version.is_draft:
            state = "draft"
        elif version.status == VersionStatus.WITHDRAWN:
            state = "withdrawn"
        elif in_force and version.pk == in_force.pk:
            state = "in force"
        elif version.effective_at > now:
            state = "scheduled"
        else:
            state = "superseded"
        rows.append({"version": version, "state": state})
    drafts = [r for r in rows if r["state"] == "draft"]
    published = [r for r in rows if r["state"] != "draft"]
    return render(
        request,
        "library/library.html",
        {
            "drafts": drafts,
            "published": published,
            "can_edit": can(request, "protocol.edit"),
            "can_publish": can(request, "protocol.publish"),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def new_draft(request):
    require(request, "protocol.edit")
    error = None
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is not None:
            if upload.size > MAX_UPLOAD_BYTES:
                error = "The file is larger than 1 MB; a protocol file is a few dozen kilobytes."
            else:
                try:
                    source = upload.read().decode("utf-8")
                except UnicodeDecodeError:
                    error = "The file is not UTF-8 text. Save it as UTF-8 and upload it again."
        elif request.POST.get("start") == "copy":
            base = get_object_or_404(ProtocolVersion, pk=request.POST.get("from"))
            # A copy is the start of the next version: it proposes the next free number, so it is
            # not a second "3.3" that only Publish would refuse.
            source = base.source
            if base.version:
                source = with_version(source, next_version(base.version, published_numbers()))
        else:
            source = request.POST.get("source", "")
        if error is None:
            if not source.strip():
                if upload is not None:
                    error = "The file is empty."
                elif version_in_force() is None:  # the page offers a box to paste into
                    error = "Choose a protocol file to upload, or paste the protocol's YAML."
                else:
                    error = "Choose a protocol file to upload, or copy the version in force."
            else:
                draft = do_create_draft(source, actor=request.user, note=request.POST.get("note", ""))
                return redirect("library:edit", draft.pk)
    in_force = version_in_force()
    proposed = next_version(in_force.version, published_numbers()) if in_force and in_force.version else ""
    return render(request, "library/new.html", {"error": error, "in_force": in_force, "proposed": proposed})


@login_required
@require_http_methods(["GET", "POST"])
def edit_draft(request, version_id: int):
    require(request, "protocol.edit")
    draft = get_object_or_404(ProtocolVersion, pk=version_id, status=VersionStatus.DRAFT)
    if request.method == "POST":
        do_update_draft(
            draft, request.POST.get("source", ""), actor=request.user, note=request.POST.get("note")
        )
        draft.refresh_from_db()
        problems = [p for p in editor_problems(draft.source) if p.severity == "error"]
        if problems:
            count = f"{len(problems)} error{'s' if len(problems) != 1 else ''}"
            messages.error(request, f"Saved, with {count} to fix before publishing.")
        else:
            messages.success(request, "Saved. The file is valid.")
        return redirect("library:edit", draft.pk)
    return render(
        request,
        "library/edit.html",
        {
            "draft": draft,
            "problems": editor_problems(draft.source),
            "line_count": draft.source.count("\n") + 1,
        },
    )


@login_required
@require_POST
def validate_draft(request):
    """htmx: the problems of the editor's text as the person types, without saving."""
    require(request, "protocol.edit")
    return render(
        request, "library/_problems.html", {"problems": editor_problems(request.POST.get("source", ""))}
    )


@login_required
@require_POST
def delete_draft(request, version_id: int):
    require(request, "protocol.edit")
    draft = get_object_or_404(ProtocolVersion, pk=version_id, status=VersionStatus.DRAFT)
    do_delete_draft(draft, actor=request.user)
    messages.success(request, "The draft is deleted.")
    return redirect("library:library")


@login_required
def preview(request, version_id: int):
    version = _version(request, version_id)
    result = load_version(version)
    sections = []
    if result.protocol is not None:
        from charterdesk.protocol.render import handbook_sections

        sections = handbook_sections(result.protocol)
    return render(
        request,
        "library/preview.html",
        {"version": version, "problems": result.errors, "sections": sections, "protocol": result.protocol},
    )


@login_required
@require_http_methods(["GET", "POST"])
def publish(request, version_id: int):
    require(request, "protocol.publish")
    draft = get_object_or_404(ProtocolVersion, pk=version_id, status=VersionStatus.DRAFT)
    protocol = load_version(draft).protocol
    zone = team_zone(protocol)
    in_force = version_in_force()
    changes: list | None = None  # None: the draft does not load, so nothing can be compared
    if protocol is not None and in_force is not None:
        from charterdesk.protocol.diff import diff_protocols

        old = load_version(in_force).protocol
        if old is not None:
            # The effective date is chosen on this page, so it is not listed as a change.
            changes = [c for c in diff_protocols(old, protocol) if c.section != "effective"]
    error = None
    role_moves = {
        key[len("move_") :]: value for key, value in request.POST.items() if key.startswith("move_") and value
    }
    effective_at = None
    when = request.POST.get("when")
    if request.method == "POST" and when not in ("now", "later"):
        # Publishing cannot be undone: a request that does not say when changes nothing.
        error = "when: choose whether the version governs now or from a later date."
    elif request.method == "POST" and when == "later":
        try:
            effective_at = start_of_day(
                dt.date.fromisoformat(request.POST.get("effective_date", "")), protocol
            )
        except ValueError:
            error = "effective_date: choose the date from which the version governs (YYYY-MM-DD)."
        else:
            if effective_at <= timezone.now():
                error = "effective_date: the date must be in the future; choose 'now' to publish at once."
    check = check_publish(draft, effective_at=effective_at, role_moves=role_moves)
    if request.method == "POST" and error is None:
        try:
            version = do_publish(draft, actor=request.user, effective_at=effective_at, role_moves=role_moves)
        except PublishRefused as exc:
            error = "; ".join(exc.reasons)
        else:
            messages.success(request, f"Version {version.version} is published.")
            return redirect("library:library")
    return render(
        request,
        "library/publish.html",
        {
            "draft": draft,
            "check": check,
            "changes": changes,
            "in_force": in_force,
            "zone": zone.key,
            "error": error,
            "role_moves": role_moves,
            "can_publish": not check.problems and not check.version_taken,
            "tomorrow": (timezone.now().astimezone(zone) + dt.timedelta(days=1)).date().isoformat(),
        },
    )


@login_required
@require_POST
def withdraw(request, version_id: int):
    require(request, "protocol.publish")
    version = get_object_or_404(ProtocolVersion, pk=version_id, status=VersionStatus.PUBLISHED)
    try:
        do_withdraw(version, actor=request.user)
    except PublishRefused as exc:
        messages.error(request, "; ".join(exc.reasons))
    else:
        messages.success(request, f"Version {version.version} is withdrawn; it will not take effect.")
    return redirect("library:library")


@login_required
def diff(request):
    versions = list(ProtocolVersion.objects.order_by("-created_at"))
    if not can(request, "protocol.view"):
        versions = [v for v in versions if not v.is_draft]
    by_id = {v.pk: v for v in versions}
    old = by_id.get(_int(request.GET.get("old")))
    new = by_id.get(_int(request.GET.get("new")))
    for name, found in (("old", old), ("new", new)):
        asked = request.GET.get(name)
        if asked and found is None:
            if not ProtocolVersion.objects.filter(pk=_int(asked) or 0).exists():
                raise Http404(f"There is no protocol version #{asked}; choose one from the lists.")
            raise PermissionDenied("You may compare published versions only.")
    if not request.GET.get("old"):
        new, old = _default_comparison(versions, new)
    changes = None
    problems = []
    if old and new:
        old_result, new_result = load_version(old), load_version(new)
        problems = old_result.errors + new_result.errors
        if not problems:
            from charterdesk.protocol.diff import diff_protocols

            changes = diff_protocols(old_result.protocol, new_result.protocol)
    return render(
        request,
        "library/diff.html",
        {
            "versions": versions,
            "old": old,
            "new": new,
            "changes": changes,
            "sections": _by_section(changes or []),
            "problems": problems,
        },
    )


def _by_section(changes) -> list[dict]:
    """The changes grouped by the handbook section they belong to, in file order, each under the
    section's title as the handbook names it."""
    from charterdesk.protocol.render.sections import SECTION_TITLES

    groups: dict[str, list] = {}
    for change in changes:
        groups.setdefault(change.section, []).append(change)
    titles = SECTION_TITLES | {"version": "Version", "effective": "Effective date", "company": "Company"}
    return [
        {"key": key, "title": titles.get(key, key.replace("_", " ").capitalize()), "changes": items}
        for key, items in groups.items()
    ]


def _default_comparison(versions: list[ProtocolVersion], new: ProtocolVersion | None):
    """What the compare page opens with when it is not told where from: the selected version (else the
    version in force, else the newest published one) against the version published before it (for a
    draft, the version in force), so the page shows what that publish changed or would change."""
    published = sorted(
        (v for v in versions if not v.is_draft and v.status != VersionStatus.WITHDRAWN),
        key=lambda v: (v.effective_at, v.pk),
    )
    in_force = version_in_force()
    if new is None:
        if not published:
            return None, None
        new = next((v for v in published if in_force and v.pk == in_force.pk), published[-1])
    if new.is_draft:
        return new, in_force or (published[-1] if published else None)
    earlier = [v for v in published if (v.effective_at, v.pk) < (new.effective_at, new.pk)]
    return new, (earlier[-1] if earlier else None)


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _file_stem(text: str) -> str:
    """A download's file name without its extension: the text in lower case with every space,
    control character and character a file name or the header cannot carry made a hyphen (a
    line break in a header would fail the whole response)."""
    kept = "".join(ch if ch.isalnum() or ch in "._-" else "-" for ch in text.lower())
    return re.sub(r"-{2,}", "-", kept).strip("-.") or "protocol"


@login_required
def download(request, version_id: int, fmt: str):
    if fmt not in DOWNLOAD_FORMATS:
        raise Http404(f"There is no '.{fmt}' download; the formats are {', '.join(DOWNLOAD_FORMATS)}.")
    version = _version(request, version_id)
    stem = _file_stem(f"{version.company or 'protocol'}-protocol-{version.version or version.pk}")
    if fmt == "yaml":
        response = HttpResponse(version.source, content_type="application/yaml; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{stem}.yaml"'
        return response
    result = load_version(version)
    if result.protocol is None:
        if version.is_draft:
            messages.error(request, "This draft has errors; fix them before downloading the handbook.")
            return redirect("library:edit", version.pk)
        # A version published before a rule it breaks was added (a line break in its company, say):
        # its preview lists the problems; the file itself still downloads as YAML.
        messages.error(
            request, "This version has errors under the current rules; its handbook cannot be made."
        )
        return redirect("library:preview", version.pk)
    from charterdesk.protocol.render import render as render_handbook

    if fmt == "md":
        response = HttpResponse(
            render_handbook(result.protocol, "md"), content_type="text/markdown; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{stem}.md"'
        return response
    response = HttpResponse(render_handbook(result.protocol, "pdf"), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{stem}.pdf"'
    return response
