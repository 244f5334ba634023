"""Files on messages: storing them under safe names, the size limit, and how they are served.

A file keeps the name its sender gave it (cleaned of paths and control characters) for
display and download, and is stored under a random name, so that no sender chooses a path
on the server. The limit is ``CHARTERDESK_MAX_ATTACHMENT_BYTES`` (15 MB by default), read
when a file arrives, so a changed setting applies without a restart.

Serving: always as a download (``Content-Disposition: attachment``), except the raster image
types a browser shows without running anything; every answer says ``nosniff`` and forbids
scripts, so a file can never act as a page of the desk.
"""

from __future__ import annotations

import datetime as dt
import mimetypes
import re
import unicodedata
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.db import transaction
from django.http import FileResponse, Http404
from django.template.defaultfilters import filesizeformat

from charterdesk.audit.actions import action, nothing_to_record
from charterdesk.audit.refs import ref
from charterdesk.core.settings import int_setting

from .actions import do_reply, stored_text
from .history import TicketError, audit_ticket, whole_second
from .models import Attachment, Message, Ticket

DEFAULT_MAX_BYTES = 15 * 1024 * 1024
MAX_FILES = 20

# Shown in the page (and <img>) rather than downloaded: pictures a browser decodes without scripts.
# SVG is left out on purpose: it is a document that can carry scripts.
INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/avif", "image/bmp"})

_CONTENT_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$")
_EXTENSION = re.compile(r"^\.[a-z0-9]{1,10}$")


def max_attachment_bytes() -> int:
    """The largest file accepted, from the settings as they are now."""
    return int_setting("CHARTERDESK_MAX_ATTACHMENT_BYTES", DEFAULT_MAX_BYTES)


@dataclass(frozen=True)
class IncomingFile:
    """A file to attach, whatever brought it: a form upload or a part of an email."""

    filename: str
    content: bytes
    content_type: str = ""
    content_id: str = ""

    @classmethod
    def from_upload(cls, upload) -> IncomingFile:
        upload.seek(0)
        return cls(filename=upload.name or "", content=upload.read(), content_type=upload.content_type or "")


def clean_filename(name: str) -> str:
    """The name to show and offer for download: no folders, no control characters, at most 255."""
    name = unicodedata.normalize("NFC", name or "").replace("\\", "/").split("/")[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().strip(".")
    name = re.sub(r"\s+", " ", name)
    if not name:
        return "attachment"
    if len(name) > 255:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 254 - len(ext)] + "." + ext) if dot and len(ext) <= 10 else name[:255]
    return name


def stored_filename(name: str) -> str:
    """``clean_filename``, with whatever a family masks in it (``redact_text``, where ``filename``):
    a file named after a card number is kept under the masked name."""
    return stored_text(clean_filename(name), "filename")


def clean_content_type(value: str, filename: str) -> str:
    """A well-formed ``type/subtype``; a missing or malformed one is guessed from the name."""
    value = (value or "").split(";")[0].strip().lower()
    if _CONTENT_TYPE.match(value):
        return value
    guessed, _ = mimetypes.guess_type(filename)
    return guessed or "application/octet-stream"


def stored_name(filename: str) -> str:
    """A random name for the storage, keeping a plain extension so the folder stays readable."""
    ext = ("." + filename.rpartition(".")[2].lower()) if "." in filename else ""
    return uuid.uuid4().hex + (ext if _EXTENSION.match(ext) else "")


def normalize_content_id(value: str) -> str:
    """``<part1.abc@mail>``, ``cid:part1.abc@mail`` and ``part1.abc@mail`` name the same part."""
    value = (value or "").strip()
    if value.lower().startswith("cid:"):
        value = value[4:]
    return value.strip().strip("<>").strip().lower()


def check_files(files: Iterable[IncomingFile], sizes: list[int] | None = None) -> list[str]:
    """What is wrong with these files, one sentence each naming the file; empty when all is well.
    ``sizes``: the sizes of files not read yet (uploads), in the same order."""
    files = list(files)
    sizes = sizes if sizes is not None else [len(one.content) for one in files]
    limit = max_attachment_bytes()
    problems = []
    if len(files) > MAX_FILES:
        problems.append(f"attach at most {MAX_FILES} files to one message (you chose {len(files)})")
    for one, size in zip(files, sizes, strict=True):
        name = clean_filename(one.filename)
        if size > limit:
            problems.append(
                f"{name} is {filesizeformat(size)}; the largest file accepted is {filesizeformat(limit)}"
            )
        elif not size:
            problems.append(f"{name} is empty")
    return problems


@action
def do_attach_files(
    message: Message, files: Iterable[IncomingFile], *, actor=None, at: dt.datetime | None = None
) -> list[Attachment]:
    """Store ``files`` on ``message`` and record it in the audit log, in the caller's transaction.

    Refuses (``TicketError`` naming ``files``) when a file is too large or empty, before anything is
    stored. When storing fails part-way, the files already written are removed again.
    """
    files = list(files)
    if not files:
        nothing_to_record("no files")
        return []
    problems = check_files(files)
    if problems:
        raise TicketError("files: " + "; ".join(problems))
    at = whole_second(at)
    ticket: Ticket = message.ticket
    created: list[Attachment] = []
    try:
        with transaction.atomic():
            for one in files:
                filename = stored_filename(one.filename)
                attachment = Attachment(
                    message=message,
                    filename=filename,
                    content_type=clean_content_type(one.content_type, filename),
                    size=len(one.content),
                    content_id=normalize_content_id(one.content_id)[:255],
                )
                attachment.file.save(stored_name(filename), ContentFile(one.content), save=False)
                created.append(attachment)
                attachment.save()
            audit_ticket(
                ticket,
                "ticket.attach",
                # By id: a file's name is its sender's words and often names a person.
                f"{ref(actor)} attached {len(created)} file(s) to "
                f"{'a message' if message.is_public else 'an internal note'} on {ticket.reference}",
                actor=actor,
                data={
                    "message": message.pk,
                    "files": [{"id": a.pk, "size": a.size, "content_type": a.content_type} for a in created],
                },
                at=at,
            )
    except BaseException:
        # The rows are gone with the transaction; the bytes already written must go too.
        for attachment in created:
            attachment.file.storage.delete(attachment.file.name)
        raise
    return created


@action
def do_reply_with_files(
    ticket: Ticket,
    *,
    author,
    body: str,
    files: Iterable[IncomingFile] = (),
    public: bool = True,
    next_status: str | None = None,
    at: dt.datetime | None = None,
    override_reason: str = "",
) -> Message:
    """A reply or internal note and its files, in one transaction: all of it is saved, or none.
    ``override_reason``: as for ``do_reply`` (sending a reply despite objections)."""
    files = list(files)
    problems = check_files(files)
    if problems:
        raise TicketError("files: " + "; ".join(problems))
    at = whole_second(at)
    with transaction.atomic():
        message = do_reply(
            ticket,
            author=author,
            body=body,
            public=public,
            next_status=next_status,
            at=at,
            override_reason=override_reason,
        )
        do_attach_files(message, files, actor=author, at=at)
    return message


# --------------------------------------------------------------------------- serving


def serve(attachment: Attachment) -> FileResponse:
    """The file as a download (pictures inline), never sniffed, never run as a page."""
    try:
        handle = attachment.file.open("rb")
    except (FileNotFoundError, ValueError):
        raise Http404(f"The file {attachment.filename} is missing from the storage.") from None
    inline = attachment.content_type in INLINE_TYPES
    response = FileResponse(
        handle,
        as_attachment=not inline,
        filename=attachment.filename,
        content_type=attachment.content_type if inline else _download_type(attachment.content_type),
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    response["Cache-Control"] = "private, max-age=3600"
    return response


def _download_type(content_type: str) -> str:
    # A download is saved, not shown, but an HTML or SVG type is never sent as is: a browser
    # that ignores the disposition must still see plain bytes.
    if content_type.startswith("text/") or "html" in content_type or "xml" in content_type:
        return "application/octet-stream"
    return content_type
