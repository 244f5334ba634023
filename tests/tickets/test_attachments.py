"""Files on replies and notes: attaching in the composer, the size limit, safe names, downloads for
agents and portal customers, the API's download links; and how message bodies are shown (HTML
re-sanitized with inline images, plain text with its line breaks, quoted history folded)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from charterdesk.api.actions import do_create_token
from charterdesk.audit.models import AuditEntry
from charterdesk.library.models import ProtocolVersion
from charterdesk.portal.actions import SESSION_KEY
from charterdesk.tickets.actions import (
    do_create_ticket,
    do_customer_message,
    do_find_or_create_customer,
    do_reply,
)
from charterdesk.tickets.attachments import IncomingFile, do_attach_files, do_reply_with_files
from charterdesk.tickets.models import Attachment, Message
from charterdesk.tickets.rendering import TOGGLE, render_html, render_text

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
    b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND"
    b"\xaeB`\x82"
)


@pytest.fixture(autouse=True)
def media(settings, tmp_path, demo):
    settings.MEDIA_ROOT = tmp_path / "media"
    ProtocolVersion.objects.update(effective_at=timezone.now() - dt.timedelta(days=1))
    return settings.MEDIA_ROOT


@pytest.fixture
def customer(demo):
    return do_find_or_create_customer(email="jo@example.com", name="Jo Walker")


@pytest.fixture
def ticket(customer):
    return do_create_ticket(
        customer=customer, subject="Tent pole snapped", body="My tent pole broke.", channel="email"
    )


def upload(name="receipt.pdf", content=b"%PDF-1.4 receipt", content_type="application/pdf"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def portal_client(client, customer):
    session = client.session
    session[SESSION_KEY] = customer.pk
    session.save()
    return client


# --------------------------------------------------------------------------- attaching


def test_an_agent_sends_a_reply_with_two_files_and_sees_them_on_the_timeline(signed_in, ticket, media):
    """The reply and its files arrive together; the timeline lists each file with a download link."""
    client = signed_in("agent")
    response = client.post(
        reverse("tickets:reply", args=[ticket.pk]),
        {
            "kind": "reply",
            "body": "Here is the return label.",
            "files": [upload(), upload("label.png", PNG, "image/png")],
        },
    )
    assert response.status_code == 302
    message = Message.objects.get(ticket=ticket, body_text="Here is the return label.")
    files = {a.filename: a for a in message.attachments.all()}
    assert set(files) == {"receipt.pdf", "label.png"}
    assert files["label.png"].size == len(PNG) and files["label.png"].content_type == "image/png"
    entry = AuditEntry.objects.filter(action="ticket.attach").get()
    # The files by id (a file's name may name a person), never by name.
    assert "2 file(s)" in entry.summary and entry.target == f"ticket:{ticket.pk}"
    assert sorted(f["id"] for f in entry.data["files"]) == sorted(a.pk for a in files.values())
    assert "receipt.pdf" not in entry.summary + str(entry.data)
    page = client.get(reverse("tickets:ticket", args=[ticket.pk])).content.decode()
    for attachment in files.values():
        assert f'href="{reverse("tickets:attachment", args=[attachment.pk])}"' in page
    assert 'enctype="multipart/form-data"' in page


def test_a_stored_name_is_random_and_the_shown_name_loses_its_folders(ticket, demo, media):
    """A sender cannot choose where a file lands: '../../etc/passwd' is stored under a random name
    in the attachments folder and shown as 'passwd'."""
    message = do_reply(ticket, author=demo["agent"], body="note", public=False)
    [attachment] = do_attach_files(
        message, [IncomingFile("../../etc/pass\x00wd", b"root:x", "text/plain")], actor=demo["agent"]
    )
    assert attachment.filename == "passwd"
    assert attachment.file.name.startswith("attachments/") and ".." not in attachment.file.name
    assert "passwd" not in attachment.file.name
    assert (media / attachment.file.name).read_bytes() == b"root:x"


def test_a_file_over_the_limit_is_refused_and_nothing_is_sent(signed_in, ticket, settings):
    """With the limit set to 1 KB (read when the file arrives), a 2 KB file is refused with a message
    naming the field and the file; the reply is not sent, the text is kept."""
    settings.CHARTERDESK_MAX_ATTACHMENT_BYTES = 1024
    messages_before = Message.objects.count()
    audit_before = AuditEntry.objects.count()
    response = signed_in("agent").post(
        reverse("tickets:reply", args=[ticket.pk]),
        {"kind": "reply", "body": "See attached.", "files": [upload("big.pdf", b"x" * 2048)]},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "files: big.pdf is 2.0\xa0KB; the largest file accepted is 1.0\xa0KB" in page
    assert "See attached." in page
    assert Message.objects.count() == messages_before and AuditEntry.objects.count() == audit_before
    assert not Attachment.objects.exists()


def test_the_reply_and_its_files_are_one_transaction(ticket, demo, media, monkeypatch):
    """When storing a file fails, the reply is not saved either, and no stray file stays behind."""
    from django.core.files.storage import FileSystemStorage

    real_save = FileSystemStorage._save
    calls = []

    def failing(self, name, content):
        calls.append(name)
        if len(calls) == 2:
            raise OSError("disk full")
        return real_save(self, name, content)

    monkeypatch.setattr(FileSystemStorage, "_save", failing)
    before = Message.objects.count()
    with pytest.raises(OSError):
        do_reply_with_files(
            ticket,
            author=demo["agent"],
            body="Two files",
            files=[IncomingFile("a.txt", b"a"), IncomingFile("b.txt", b"b")],
        )
    assert Message.objects.count() == before
    assert not Attachment.objects.exists()
    folder = media / "attachments"
    assert not folder.exists() or not any(p.is_file() for p in folder.rglob("*"))


# --------------------------------------------------------------------------- downloading


def test_agents_download_with_attachment_disposition_and_nosniff(signed_in, ticket, demo):
    """A PDF downloads as an attachment under its own name; a PNG opens inline; both say nosniff."""
    message = do_reply_with_files(
        ticket,
        author=demo["agent"],
        body="Files",
        files=[
            IncomingFile("receipt.pdf", b"%PDF", "application/pdf"),
            IncomingFile("p.png", PNG, "image/png"),
        ],
    )
    pdf, png = sorted(message.attachments.all(), key=lambda a: a.filename != "receipt.pdf")
    client = signed_in("agent")
    response = client.get(reverse("tickets:attachment", args=[pdf.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="receipt.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == b"%PDF"
    response = client.get(reverse("tickets:attachment", args=[png.pk]))
    assert response["Content-Disposition"].startswith("inline")
    assert response["Content-Type"] == "image/png" and response["X-Content-Type-Options"] == "nosniff"
    b"".join(response.streaming_content)  # read through the client, which closes the file


def test_an_html_file_is_never_served_as_a_page(signed_in, ticket, demo):
    """An uploaded .html or .svg file downloads as bytes: attachment, not text/html, scripts forbidden."""
    message = do_reply_with_files(
        ticket,
        author=demo["agent"],
        body="Files",
        files=[
            IncomingFile("page.html", b"<script>alert(1)</script>", "text/html"),
            IncomingFile("logo.svg", b"<svg onload='alert(1)'/>", "image/svg+xml"),
        ],
    )
    client = signed_in("agent")
    for attachment in message.attachments.all():
        response = client.get(reverse("tickets:attachment", args=[attachment.pk]))
        assert response["Content-Disposition"].startswith("attachment")
        assert "html" not in response["Content-Type"] and "svg" not in response["Content-Type"]
        assert "sandbox" in response["Content-Security-Policy"]
        b"".join(response.streaming_content)  # read through the client, which closes the file


def test_a_person_without_ticket_view_cannot_download(client, person, ticket, demo):
    """Downloads need ticket.view, like the ticket itself; signed-out visitors go to sign in."""
    message = do_reply_with_files(ticket, author=demo["agent"], body="F", files=[IncomingFile("a.txt", b"a")])
    url = reverse("tickets:attachment", args=[message.attachments.get().pk])
    assert client.get(url).status_code == 302
    client.force_login(person("nobody@example.com", []))
    assert client.get(url).status_code == 403


def test_portal_customers_get_files_of_public_messages_of_their_own_tickets_only(client, ticket, demo):
    """Jo downloads the file on our reply and on her own message; a file on an internal note, and
    a file on another customer's ticket, are 404; the portal page lists only the public ones."""
    reply = do_reply_with_files(
        ticket, author=demo["agent"], body="Label attached", files=[IncomingFile("label.pdf", b"L")]
    )
    note = do_reply_with_files(
        ticket, author=demo["agent"], body="Internal", public=False, files=[IncomingFile("secret.txt", b"S")]
    )
    mine = do_customer_message(ticket, body="My photo")
    do_attach_files(mine, [IncomingFile("photo.png", PNG, "image/png")])
    other = do_create_ticket(
        customer=do_find_or_create_customer(email="sam@example.com", name="Sam"),
        subject="Other",
        body="Other",
        channel="email",
    )
    theirs = do_reply_with_files(other, author=demo["agent"], body="x", files=[IncomingFile("sam.pdf", b"X")])

    portal_client(client, ticket.customer)
    for message in (reply, mine):
        response = client.get(reverse("portal:attachment", args=[message.attachments.get().pk]))
        assert response.status_code == 200
        b"".join(response.streaming_content)  # read through the client, which closes the file
    for message in (note, theirs):
        assert (
            client.get(reverse("portal:attachment", args=[message.attachments.get().pk])).status_code == 404
        )
    page = client.get(reverse("portal:ticket", args=[ticket.pk])).content.decode()
    assert "label.pdf" in page and "photo.png" in page
    assert "secret.txt" not in page and "Internal" not in page


def test_signed_out_visitors_are_sent_to_the_portal_sign_in(client, ticket, demo):
    """A visitor who is not signed in to the portal and opens an attachment's link is sent to the portal's
    sign-in page, not given the file."""
    message = do_reply_with_files(ticket, author=demo["agent"], body="F", files=[IncomingFile("a.txt", b"a")])
    response = client.get(reverse("portal:attachment", args=[message.attachments.get().pk]))
    assert response.status_code == 302 and response["Location"] == reverse("portal:start")


def test_the_api_lists_attachments_with_a_download_url_that_works_with_the_token(client, ticket, demo):
    """Each message in GET /api/v1/tickets/{id} lists its files with a download_url; GET on it with
    the token returns the file; without a token it is 401."""
    do_reply_with_files(ticket, author=demo["agent"], body="F", files=[IncomingFile("label.pdf", b"LABEL")])
    _, secret = do_create_token(demo["agent"], "test", actor=demo["agent"])
    auth = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    body = client.get(f"/api/v1/tickets/{ticket.pk}", **auth).json()
    [listed] = [a for m in body["messages"] for a in m["attachments"]]
    assert listed["filename"] == "label.pdf" and listed["size"] == 5
    assert listed["download_url"] == f"http://testserver/api/v1/tickets/attachments/{listed['id']}"
    response = client.get(listed["download_url"], **auth)
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"LABEL"
    assert response["Content-Disposition"] == 'attachment; filename="label.pdf"'
    assert client.get(listed["download_url"]).status_code == 401
    missing = client.get("/api/v1/tickets/attachments/999999", **auth)
    assert missing.status_code == 404 and missing.json()["errors"][0]["field"] == "attachment_id"


# --------------------------------------------------------------------------- showing bodies


def test_html_is_sanitized_again_when_shown():
    """Scripts, styles, event handlers, javascript: and relative links are removed; text stays."""
    html = (
        '<p onclick="steal()">Hello <b>there</b></p><script>alert(1)</script><style>p{}</style>'
        '<a href="javascript:alert(1)">bad</a> <a href="/tickets/1/merge/">rel</a> '
        '<a href="https://acme.example/help">help</a><iframe src="https://evil"></iframe>'
        '<img src="https://tracker.example/p.gif" onerror="x()">'
    )
    shown = str(render_html(html))
    assert "Hello <b>there</b>" in shown and 'href="https://acme.example/help"' in shown
    for bad in (
        "onclick",
        "script",
        "alert",
        "<style",
        "javascript",
        "/tickets/1/merge/",
        "iframe",
        "tracker",
    ):
        assert bad not in shown


def test_cid_images_point_at_the_download_of_the_matching_attachment(signed_in, ticket, demo):
    """An HTML mail's inline image (cid:) shows from the attachment with that Content-ID."""
    message = do_customer_message(
        ticket,
        body="See photo",
        body_html='<p>See photo</p><img src="cid:Photo1@mail.example" alt="the pole">',
    )
    [photo] = do_attach_files(message, [IncomingFile("pole.png", PNG, "image/png", "<photo1@mail.example>")])
    page = signed_in("agent").get(reverse("tickets:ticket", args=[ticket.pk])).content.decode()
    assert f'<img src="{reverse("tickets:attachment", args=[photo.pk])}" alt="the pole">' in page


def test_the_portal_shows_html_messages_with_portal_download_links(client, ticket):
    """In the portal a customer's HTML message keeps its formatting, loses its script, and an inline image
    (cid:) shows through the portal's own download link."""
    message = do_customer_message(
        ticket, body="Photo", body_html='<p><i>Photo</i></p><img src="cid:p@x"><script>bad()</script>'
    )
    [photo] = do_attach_files(message, [IncomingFile("p.png", PNG, "image/png", "p@x")])
    page = portal_client(client, ticket.customer).get(reverse("portal:ticket", args=[ticket.pk]))
    text = page.content.decode()
    assert "<i>Photo</i>" in text and "bad()" not in text
    assert f'<img src="{reverse("portal:attachment", args=[photo.pk])}">' in text


def test_plain_text_keeps_line_breaks_and_escapes_markup():
    """A plain-text message keeps its line breaks and paragraphs, and '<two>' shows as text, not markup."""
    shown = str(render_text("Line one\nLine <two>\n\nNew paragraph"))
    assert "Line one<br>Line &lt;two&gt;" in shown and "<p>New paragraph</p>" in shown


def test_quoted_history_in_plain_text_is_folded_but_kept_in_full():
    """In a plain-text reply, the quoted history from 'On Mon, 7 Dec 2026 ... wrote:' on is folded under 'Show
    quoted text', kept in full; the new text stays visible above it."""
    text = (
        "Thanks, that fixed it.\n\nOn Mon, 7 Dec 2026 at 09:12, Acme Support <support@acme.example>\n"
        "wrote:\n> Try the spare pole.\n> Best, Alex"
    )
    shown = str(render_text(text))
    before, folded = shown.split(f"<summary>{TOGGLE}</summary>")
    assert "Thanks, that fixed it." in before and "Try the spare pole" not in before
    assert "wrote:" in folded and "&gt; Try the spare pole.<br>&gt; Best, Alex" in folded


def test_interleaved_quotes_fold_one_by_one_and_answers_stay_visible():
    """Answers written between quoted questions stay visible; each quote folds on its own (two folds)."""
    shown = str(render_text("> Which size?\nLarge.\n> Which colour?\nGreen."))
    assert shown.count(f"<summary>{TOGGLE}</summary>") == 2
    assert shown.index("Large.") < shown.index("Which colour?")


def test_a_message_that_is_only_a_quote_is_not_hidden():
    """A message that is nothing but quoted lines is shown, not folded away."""
    assert TOGGLE not in str(render_text("> forwarded line\n> another"))


def test_quoted_history_in_html_is_folded_from_the_wrote_line():
    """In an HTML reply (Gmail style), everything from the 'wrote:' line on is folded, formatting kept; 'Works
    now, thanks!' stays visible."""
    html = (
        '<div dir="ltr">Works now, thanks!</div><br><div class="gmail_quote"><div class="gmail_attr">'
        "On Mon, Dec 7, 2026 at 9:12 AM Alex &lt;support@acme.example&gt; wrote:<br></div>"
        "<blockquote>Try the <b>spare</b> pole.</blockquote></div>"
    )
    shown = str(render_html(html))
    before, folded = shown.split(f"<summary>{TOGGLE}</summary>")
    assert "Works now, thanks!" in before and "wrote:" not in before
    assert "wrote:" in folded and "<blockquote>Try the <b>spare</b> pole.</blockquote>" in folded


def test_the_ticket_page_folds_quoted_text(signed_in, ticket):
    """On the agent's ticket page a customer's quoted text sits in a 'Show quoted text' fold, still in the
    page."""
    do_customer_message(ticket, body="Still broken.\n\nOn Tue, Alex wrote:\n> Did the spare help?")
    page = signed_in("agent").get(reverse("tickets:ticket", args=[ticket.pk])).content.decode()
    assert f'<details class="quoted"><summary>{TOGGLE}</summary>' in page
    assert "Did the spare help?" in page


def test_every_download_is_audited_by_id(signed_in, ticket, demo):
    """Opening a customer's file is recorded: who, which attachment of which ticket, from where;
    on the desk and through the API alike."""
    from charterdesk.audit.models import AuditEntry

    message = do_reply_with_files(
        ticket, author=demo["agent"], body="Files", files=[IncomingFile("r.pdf", b"%PDF", "application/pdf")]
    )
    pdf = message.attachments.get()
    response = signed_in("agent").get(reverse("tickets:attachment", args=[pdf.pk]))
    b"".join(response.streaming_content)
    entry = AuditEntry.objects.get(action="read.attachment")
    assert entry.actor == demo["agent"]
    assert entry.target == f"attachment:{pdf.pk}"
    assert entry.data["ticket"] == ticket.pk and entry.data["ip"] == "127.0.0.1"
