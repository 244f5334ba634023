"""A corpus of real-world email shapes, built by code, each with the outcome the desk must reach.

``build_corpus()`` returns cases in ingestion order. A case's ``raw`` may be a function of the
``Context`` (the tickets earlier cases made), because replies must point at real tickets. ``expect``
is one of:

- ``("new",)``: a new ticket; ``check`` (optional) looks at the ticket and its first message
- ``("reply", "case")``: a customer message on the ticket of that earlier case
- ``("note", "case")``: an internal note on that ticket (automatic replies)
- ``("bounce", "case")``: a bounce recorded on that ticket
- ``("held", "case")``: held for approval, pointing at that ticket
- ``("linked", "case")``: a new ticket linked to the (closed) ticket of that case
- ``("quarantine", "words in the reason")``
- ``("duplicate", "case")``: already stored; nothing new happens

``before`` (optional) names a case whose ticket is closed before this one arrives.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from email import charset as email_charset
from email.mime.base import MIMEBase
from email.mime.image import MIMEImage
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr

import pytest

SUPPORT = "support@acme.example"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


@dataclass
class Context:
    tickets: dict[str, int] = field(default_factory=dict)  # case name -> ticket id
    message_ids: dict[str, str] = field(default_factory=dict)  # case name -> its Message-ID


@dataclass
class Case:
    name: str
    raw: bytes | Callable[[Context], bytes]
    expect: tuple
    check: Callable | None = None
    before: str = ""
    message_id: str = ""

    def build(self, context: Context) -> bytes:
        return self.raw(context) if callable(self.raw) else self.raw


def _headers(msg, *, sender, subject, message_id, to=SUPPORT, extra=None):
    msg["From"] = sender
    msg["To"] = to
    if subject is not None:
        msg["Subject"] = subject
    msg["Date"] = "Mon, 07 Dec 2026 10:00:00 -0500"
    if message_id:
        msg["Message-ID"] = message_id
    for key, value in (extra or {}).items():
        msg[key] = value
    return msg


def plain(
    name: str,
    body: str = "Hello, my order has not arrived.",
    *,
    sender: str | None = None,
    subject: str | None = "Order question",
    charset: str = "utf-8",
    cte: str | None = None,
    extra: dict | None = None,
    to: str = SUPPORT,
) -> tuple[bytes, str]:
    message_id = f"<{name}@customer.example>"
    if cte == "qp":
        quoted = email_charset.Charset(charset)
        quoted.body_encoding = email_charset.QP
        msg = MIMEText(body, "plain", quoted)
    else:
        msg = MIMEText(body, "plain", charset)
    if cte == "8bit":
        del msg["Content-Transfer-Encoding"]
        msg.set_payload(body.encode(charset))
        msg["Content-Transfer-Encoding"] = "8bit"
    sender = sender or formataddr((name.replace("-", " ").title(), f"{name}@customer.example"))
    _headers(msg, sender=sender, subject=subject, message_id=message_id, to=to, extra=extra)
    return msg.as_bytes(), message_id


def refuse_storing(monkeypatch, marker: bytes, error: Exception) -> None:
    """Make the database refuse, with ``error``, every INSERT that holds a message containing
    ``marker``: first its chunk's, then its own (``monkeypatch.undo()`` ends it)."""
    from charterdesk.channels import actions

    real = actions._insert_new

    def refusing(rows):
        if any(marker in row.raw for row in rows):
            raise error
        return real(rows)

    monkeypatch.setattr(actions, "_insert_new", refusing)


def raw_lines(*lines: str | bytes) -> bytes:
    return b"\r\n".join(line if isinstance(line, bytes) else line.encode("utf-8") for line in lines)


def _text_has(*needles: str):
    def check(ticket, message):
        for needle in needles:
            assert needle in message.body_text, f"{needle!r} not in {message.body_text[:300]!r}"

    return check


def _subject_is(subject: str):
    def check(ticket, message):
        assert ticket.subject == subject, ticket.subject

    return check


def _attachments(*names: str, inline: int = 0):
    def check(ticket, message):
        got = sorted(a.filename for a in message.attachments.all())
        assert got == sorted(names), got
        assert sum(1 for a in message.attachments.all() if a.content_id) >= inline

    return check


def _all(*checks):
    def check(ticket, message):
        for c in checks:
            c(ticket, message)

    return check


def build_corpus(*, big_attachment: int = 2 * 1024 * 1024) -> list[Case]:
    """At least 60 messages; ``big_attachment`` must exceed the attachment limit the test sets."""
    cases: list[Case] = []

    def add(name, raw, expect, check=None, before="", message_id=""):
        if isinstance(raw, tuple):
            raw, message_id = raw
        cases.append(Case(name, raw, expect, check, before, message_id))

    # ---------------------------------------------------------------- charsets and encoded words
    add("ascii", plain("ascii"), ("new",), _text_has("has not arrived"))
    add(
        "utf8-8bit",
        plain("utf8-8bit", "Grüße aus Köln — ça va? 日本語", subject="=?utf-8?b?R3LDvMOfZQ==?=", cte="8bit"),
        ("new",),
        _all(_text_has("Grüße aus Köln", "日本語"), _subject_is("Grüße")),
    )
    add(
        "utf8-qp",
        plain("utf8-qp", "Prix: 42 € — très cher", subject="=?utf-8?q?Tr=C3=A8s_cher?=", cte="qp"),
        ("new",),
        _all(_text_has("42 €", "très"), _subject_is("Très cher")),
    )
    add(
        "latin1",
        plain("latin1", "Grüße aus München", subject="=?iso-8859-1?q?M=FCnchen?=", charset="iso-8859-1"),
        ("new",),
        _all(_text_has("Grüße aus München"), _subject_is("München")),
    )
    add(
        "cp1252",
        plain("cp1252", "“Quoted” price €5 – fine", charset="cp1252", cte="8bit"),
        ("new",),
        _text_has("“Quoted” price €5 – fine"),
    )
    add(
        "koi8r",
        plain("koi8r", "Здравствуйте, заказ не пришёл", charset="koi8-r"),
        ("new",),
        _text_has("заказ"),
    )
    add(
        "shift-jis",
        plain("shift-jis", "注文が届きません", charset="shift_jis"),
        ("new",),
        _text_has("注文が届きません"),
    )
    add(
        "iso2022jp",
        plain("iso2022jp", "こんにちは世界", charset="iso-2022-jp"),
        ("new",),
        _text_has("こんにちは世界"),
    )
    add("gb2312", plain("gb2312", "我的订单没有到", charset="gb2312"), ("new",), _text_has("我的订单没有到"))
    add("big5", plain("big5", "我的訂單沒有到", charset="big5"), ("new",), _text_has("我的訂單沒有到"))
    add(
        "euc-kr",
        plain("euc-kr", "주문이 도착하지 않았습니다", charset="euc-kr"),
        ("new",),
        _text_has("주문이"),
    )
    add("iso8859-15", plain("iso8859-15", "Coût: 10 €", charset="iso-8859-15"), ("new",), _text_has("10 €"))
    add(
        "ascii-lie",
        raw_lines(
            "From: Lie <ascii-lie@customer.example>",
            f"To: {SUPPORT}",
            "Subject: charset lie",
            "Message-ID: <ascii-lie@customer.example>",
            "Content-Type: text/plain; charset=us-ascii",
            "Content-Transfer-Encoding: 8bit",
            "",
            "Straße und Café".encode(),
        ),
        ("new",),
        _text_has("Straße und Café"),
    )
    add(
        "unknown-charset",
        raw_lines(
            "From: Unknown <unknown-charset@customer.example>",
            f"To: {SUPPORT}",
            "Subject: unknown",
            "Message-ID: <unknown-charset@customer.example>",
            "Content-Type: text/plain; charset=x-unknown",
            "Content-Transfer-Encoding: 8bit",
            "",
            "caf\xe9 cr\xe8me".encode("latin-1"),
        ),
        ("new",),
        _text_has("café crème"),
    )
    add(
        "utf8-alias",
        raw_lines(
            "From: Alias <utf8-alias@customer.example>",
            f"To: {SUPPORT}",
            "Subject: alias",
            "Message-ID: <utf8-alias@customer.example>",
            "Content-Type: text/plain; charset=utf8mb4",
            "Content-Transfer-Encoding: 8bit",
            "",
            "Ünïcödé".encode(),
        ),
        ("new",),
        _text_has("Ünïcödé"),
    )
    add(
        "encoded-from-name",
        plain(
            "encoded-from-name",
            sender='"=?utf-8?q?J=C3=B6rg_M=C3=BCller?=" <encoded-from-name@customer.example>',
        ),
        ("new",),
        lambda t, m: _name_is(t, "Jörg Müller"),
    )
    add(
        "raw-8bit-subject",
        raw_lines(
            "From: Raw <raw-8bit-subject@customer.example>",
            f"To: {SUPPORT}",
            "Subject: Größe falsch".encode(),
            "Message-ID: <raw-8bit-subject@customer.example>",
            "Content-Type: text/plain; charset=utf-8",
            "",
            "Die Größe passt nicht.".encode(),
        ),
        ("new",),
        _subject_is("Größe falsch"),
    )
    add(
        "raw-8bit-from-name",
        raw_lines(
            "From: Léa Müller <raw-8bit-from-name@customer.example>".encode(),
            f"To: {SUPPORT}",
            "Subject: Café réclamation".encode(),
            "Message-ID: <raw-8bit-from-name@customer.example>",
            "Content-Type: text/plain; charset=utf-8",
            "",
            b"La taille ne va pas.",
        ),
        ("new",),
        lambda t, m: _name_is(t, "Léa Müller"),
    )
    add(
        "nul-in-encoded-words",
        # PostgreSQL text cannot hold NUL: an encoded word that decodes to one (subject, name) and a
        # raw NUL in the Message-ID must neither stop the mailbox nor lose the message.
        raw_lines(
            "From: =?utf-8?q?Nu=00ll_Person?= <nul-in-encoded-words@customer.example>",
            f"To: {SUPPORT}",
            "Subject: =?utf-8?q?Broken=00_strap?=",
            b"Message-ID: <nul-in-\x00encoded-words@customer.example>",
            "Content-Type: text/plain; charset=utf-8",
            "",
            b"The strap broke.",
        ),
        ("new",),
        _all(_subject_is("Broken strap"), lambda t, m: _name_is(t, "Null Person")),
    )
    add(
        "glued-encoded-word",
        raw_lines(
            "From: Glued <glued-encoded-word@customer.example>",
            f"To: {SUPPORT}",
            "Subject: Re:=?utf-8?q?Gr=C3=BC=C3=9Fe?=",
            "Message-ID: <glued-encoded-word@customer.example>",
            "",
            "hello",
        ),
        ("new",),
        lambda t, m: _contains(t.subject, "Grüße"),
    )
    add(
        "bad-charset-word",
        raw_lines(
            "From: Bad <bad-charset-word@customer.example>",
            f"To: {SUPPORT}",
            "Subject: =?x-nonsense?q?caf=E9?= order",
            "Message-ID: <bad-charset-word@customer.example>",
            "",
            "hello",
        ),
        ("new",),
        lambda t, m: _contains(t.subject, "café order"),
    )
    add(
        "base64-one-line",
        plain("base64-one-line", "Long line " * 500, cte="base64"),
        ("new",),
        _text_has("Long line Long line"),
    )

    # ---------------------------------------------------------------- multipart shapes
    def alternative(name, text, markup, **kw):
        msg = MIMEMultipart("alternative")
        msg.attach(MIMEText(text, "plain", "utf-8"))
        msg.attach(MIMEText(markup, "html", "utf-8"))
        _headers(
            msg,
            sender=f"{name}@customer.example",
            subject=kw.get("subject", name),
            message_id=f"<{name}@c.example>",
        )
        return msg.as_bytes()

    add(
        "alternative",
        alternative("alternative", "Plain version", "<p>HTML <b>version</b></p>"),
        ("new",),
        lambda t, m: (_contains(m.body_text, "Plain version"), _contains(m.body_html, "<b>version</b>")),
    )
    html_only = MIMEText(
        "<html><body><h1>Broken</h1><p>It&nbsp;broke<br>again</p></body></html>", "html", "utf-8"
    )
    _headers(
        html_only,
        sender="html-only@customer.example",
        subject="html only",
        message_id="<html-only@c.example>",
    )
    add(
        "html-only",
        html_only.as_bytes(),
        ("new",),
        lambda t, m: (
            _contains(m.body_text, "Broken"),
            _contains(m.body_text, "again"),
            _contains(m.body_html, "<h1>"),
        ),
    )
    add(
        "hostile-html",
        alternative(
            "hostile-html",
            "see html",
            '<p onclick="steal()">Hi<script>alert(1)</script><img src="https://tracker.example/p.gif">'
            '<a href="javascript:evil()">x</a><style>p{}</style><iframe src="x"></iframe></p>',
        ),
        ("new",),
        _no_hostile_html,
    )

    related = MIMEMultipart("related")
    alt = MIMEMultipart("alternative")
    alt.attach(MIMEText("See the photo", "plain", "utf-8"))
    alt.attach(MIMEText('<p>See <img src="cid:photo1@c.example" alt="photo"></p>', "html", "utf-8"))
    related.attach(alt)
    image = MIMEImage(PNG, "png")
    image["Content-ID"] = "<photo1@c.example>"
    image.add_header("Content-Disposition", "inline", filename="photo.png")
    related.attach(image)
    _headers(
        related,
        sender="inline-image@customer.example",
        subject="photo inline",
        message_id="<inline-image@c.example>",
    )
    add("inline-image", related.as_bytes(), ("new",), _inline_image_check)

    def mixed(name, body, *attachments, html=None):
        msg = MIMEMultipart("mixed")
        if html:
            alt = MIMEMultipart("alternative")
            alt.attach(MIMEText(body, "plain", "utf-8"))
            alt.attach(MIMEText(html, "html", "utf-8"))
            msg.attach(alt)
        else:
            msg.attach(MIMEText(body, "plain", "utf-8"))
        for part in attachments:
            msg.attach(part)
        _headers(msg, sender=f"{name}@customer.example", subject=name, message_id=f"<{name}@c.example>")
        return msg.as_bytes()

    def attachment(data, subtype, filename, maintype="application"):
        part = MIMEBase(maintype, subtype)
        part.set_payload(data)
        from email import encoders

        encoders.encode_base64(part)
        if filename is not None:
            part.add_header("Content-Disposition", "attachment", filename=filename)
        return part

    add(
        "pdf",
        mixed("pdf", "Invoice attached", attachment(b"%PDF-1.4 fake", "pdf", "invoice.pdf")),
        ("new",),
        _attachments("invoice.pdf"),
    )
    add(
        "alt-plus-two",
        mixed(
            "alt-plus-two",
            "Two files",
            attachment(b"a,b\n1,2\n", "csv", "data.csv", "text"),
            attachment(PNG, "png", "screen.png", "image"),
            html="<p>Two files</p>",
        ),
        ("new",),
        _attachments("data.csv", "screen.png"),
    )
    nested = MIMEMultipart("mixed")
    nested.attach(related)
    nested.attach(attachment(b"zipdata", "zip", "logs.zip"))
    del nested["Message-ID"]
    _headers(nested, sender="nested@customer.example", subject="nested", message_id="<nested@c.example>")
    add("nested", nested.as_bytes(), ("new",), _attachments("photo.png", "logs.zip", inline=1))
    rfc2231 = attachment(b"x", "pdf", None)
    rfc2231.add_header("Content-Disposition", "attachment", filename=("utf-8", "", "Rechnung Größe.pdf"))
    add(
        "rfc2231-name",
        mixed("rfc2231-name", "see file", rfc2231),
        ("new",),
        _attachments("Rechnung Größe.pdf"),
    )
    encoded_name = attachment(b"x", "pdf", None)
    encoded_name["Content-Disposition"] = 'attachment; filename="=?utf-8?q?Fa=C3=A7ade.pdf?="'
    add(
        "encoded-word-name",
        mixed("encoded-word-name", "see file", encoded_name),
        ("new",),
        _attachments("Façade.pdf"),
    )
    add(
        "traversal-name",
        mixed("traversal-name", "see file", attachment(b"x", "octet-stream", "../../etc/passwd")),
        ("new",),
        _attachments("passwd"),
    )
    add(
        "hidden-name",
        mixed("hidden-name", "see file", attachment(b"x", "octet-stream", ".bashrc")),
        ("new",),
        _attachments("bashrc"),
    )
    add(
        "no-name",
        mixed("no-name", "see file", attachment(b"x", "pdf", None)),
        ("new",),
        _attachments("attachment-2.pdf"),
    )
    add(
        "too-large-attachment",
        mixed("too-large-attachment", "big file", attachment(b"0" * big_attachment, "zip", "huge.zip")),
        ("new",),
        lambda t, m: (
            _attachments()(t, m),
            _contains(m.body_text, "'huge.zip'"),
            _contains(m.body_text, "not kept"),
        ),
    )
    add(
        "truncated-multipart",
        raw_lines(
            "From: trunc@customer.example",
            f"To: {SUPPORT}",
            "Subject: truncated",
            "Message-ID: <trunc@c.example>",
            "MIME-Version: 1.0",
            'Content-Type: multipart/mixed; boundary="XYZ"',
            "",
            "--XYZ",
            "Content-Type: text/plain",
            "",
            "The text before the cut",
            "--XYZ",
            "Content-Type: application/pdf",
            "Content-Transfer-Encoding: base64",
            "",
            "JVBERi0xLjQK",
        ),
        ("new",),
        _text_has("The text before the cut"),
    )
    add(
        "no-boundary",
        raw_lines(
            "From: nob@customer.example",
            f"To: {SUPPORT}",
            "Subject: no boundary",
            "Message-ID: <nob@c.example>",
            "MIME-Version: 1.0",
            "Content-Type: multipart/mixed",
            "",
            "Just some text really",
        ),
        ("new",),
        _text_has("Just some text really"),
    )
    inner, _ = plain("forwarded-inner", "The original complaint", subject="Broken tent")
    fwd = MIMEMultipart("mixed")
    fwd.attach(MIMEText("FYI, see the attached message", "plain", "utf-8"))
    import email as email_module

    fwd.attach(MIMEMessage(email_module.message_from_bytes(inner)))
    _headers(
        fwd,
        sender="forwarder@customer.example",
        subject="Fwd: Broken tent",
        message_id="<fwd-attached@c.example>",
    )
    add("forward-attached", fwd.as_bytes(), ("new",), _attachments("Broken tent.eml"))
    add(
        "forward-inline",
        plain(
            "forward-inline",
            "See below\n\n---------- Forwarded message ---------\nFrom: Jo <jo@x.example>\n"
            "Subject: tent\n\nMy tent is broken",
            subject="Fwd: tent",
        ),
        ("new",),
        _text_has("See below", "My tent is broken"),
    )
    add(
        "quoted-history",
        plain(
            "quoted-history",
            "Still broken.\n\nOn Mon, Dec 7, 2026 at 10:00 Acme wrote:\n> Did it work?\n> Thanks\n"
            "\n-- \nJo Walker\nCEO",
        ),
        ("new",),
        _quoted_check,
    )
    calendar = attachment(b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "calendar", "invite.ics", "text")
    add("calendar", mixed("calendar", "Meeting?", calendar), ("new",), _attachments("invite.ics"))
    add("empty-body", plain("empty-body", "", subject="Empty"), ("new",), _text_has("(no text)"))
    add(
        "no-subject",
        plain("no-subject", "no subject here", subject=None),
        ("new",),
        _subject_is("(no subject)"),
    )

    # ---------------------------------------------------------------- headers missing or malformed
    no_id = raw_lines("From: noid@customer.example", f"To: {SUPPORT}", "Subject: no id", "", "no message id")
    add("no-message-id", no_id, ("new",))
    add("no-message-id-again", no_id, ("duplicate", "no-message-id"))
    add("duplicate-message-id", cases[1].raw, ("duplicate", "utf8-8bit"))
    # A second, different message reusing an earlier Message-ID is a message of its own (flagged).
    add(
        "same-id-other-copy",
        plain("utf8-8bit", "A relayed copy with other headers", subject="copy")[0],
        ("new",),
    )
    add(
        "missing-from",
        raw_lines(f"To: {SUPPORT}", "Subject: who?", "Message-ID: <nofrom@c.example>", "", "hi"),
        ("quarantine", "sender"),
    )
    add(
        "malformed-from",
        raw_lines(
            "From: not an address",
            f"To: {SUPPORT}",
            "Subject: x",
            "Message-ID: <badfrom@c.example>",
            "",
            "hi",
        ),
        ("quarantine", "sender"),
    )
    add("binary-garbage", bytes(range(256)) * 4, ("quarantine", ""))
    add("empty", b"", ("quarantine", "empty"))
    add(
        "long-subject",
        plain("long-subject", subject="Very long " * 200),
        ("new",),
        lambda t, m: len(t.subject) <= 300,
    )
    add(
        "bare-message-id",
        raw_lines(
            "From: bare@customer.example",
            f"To: {SUPPORT}",
            "Subject: bare",
            "Message-ID: bare-id@c.example",
            "",
            "x",
        ),
        ("new",),
        lambda t, m: _contains(m.message_id, "bare-id@c.example"),
    )
    add(
        "bad-date",
        raw_lines(
            "From: date@customer.example",
            f"To: {SUPPORT}",
            "Subject: bad date",
            "Date: yesterday-ish",
            "Message-ID: <baddate@c.example>",
            "",
            "x",
        ),
        ("new",),
    )
    add(
        "lf-only-lowercase",
        b"from: lf@customer.example\nto: support@acme.example\nsubject: lf only\n"
        b"message-id: <lf@c.example>\n\nbody",
        ("new",),
        _subject_is("lf only"),
    )
    add(
        "two-from",
        raw_lines(
            "From: first@customer.example, second@customer.example",
            f"To: {SUPPORT}",
            "Subject: two",
            "Message-ID: <twofrom@c.example>",
            "",
            "x",
        ),
        ("new",),
        lambda t, m: _contains(t.customer.email, "first@customer.example"),
    )
    add(
        "cc-colleague",
        plain(
            "cc-colleague", "Please help, my colleague is in Cc", extra={"Cc": "colleague@customer.example"}
        ),
        ("new",),
    )
    add(
        "large-body",
        plain("large-body", ("A long log line with details. " * 40 + "\n") * 2500, cte="qp"),
        ("new",),
        lambda t, m: len(m.body_text) > 2_000_000,
    )

    # ---------------------------------------------------------------- automatic mail and loops
    add(
        "auto-generated",
        plain("auto-generated", "Your monitoring alert", extra={"Auto-Submitted": "auto-generated"}),
        ("new",),
        _receipt_suppressed,
    )
    add(
        "bulk",
        plain("bulk", "Newsletter", extra={"Precedence": "bulk"}),
        ("new",),
        lambda t, m: (_receipt_suppressed(t, m), _contains(t.tags, "bulk")),
    )
    add(
        "list",
        plain("list", "List mail", extra={"List-Id": "<users.lists.example>"}),
        ("new",),
        lambda t, m: (_receipt_suppressed(t, m), _contains(t.tags, "bulk")),
    )
    add(
        "noreply-sender",
        plain("noreply", "Order 1234 shipped", sender="no-reply@shop.example"),
        ("new",),
        _receipt_suppressed,
    )
    add(
        "out-of-office-on-thread",
        lambda ctx: plain(
            "ooo1",
            "I am away until Monday.",
            sender="ascii@customer.example",
            subject="Automatic reply: Order",
            extra={"Auto-Submitted": "auto-replied", "In-Reply-To": _receipt_id(ctx, "ascii")},
        )[0],
        ("note", "ascii"),
    )
    add(
        "out-of-office-alone",
        plain("ooo2", "Out of office", subject="Out of Office: back soon", extra={"X-Autoreply": "yes"}),
        ("quarantine", "automatic reply"),
    )

    # ---------------------------------------------------------------- bounces
    add("dsn", lambda ctx: _dsn(ctx, "pdf"), ("bounce", "pdf"))
    add(
        "qmail-failure",
        raw_lines(
            "From: MAILER-DAEMON@mx.customer.example",
            f"To: {SUPPORT}",
            "Subject: failure notice",
            "Message-ID: <qmail@mx.example>",
            "",
            "Hi. This is the qmail-send program.",
            "I'm afraid I wasn't able to deliver your message to the following addresses.",
            "<latin1@customer.example>:",
            "Sorry, no mailbox here by that name. (#5.1.1)",
        ),
        ("bounce", "latin1"),
    )
    add("dsn-unknown", lambda ctx: _dsn(ctx, None), ("quarantine", "bounce"))

    # ---------------------------------------------------------------- threading
    add(
        "reply-in-reply-to",
        lambda ctx: plain(
            "reply1",
            "Any news?",
            sender="koi8r@customer.example",
            subject="Re: Order question",
            extra={"In-Reply-To": "<koi8r@customer.example>"},
        )[0],
        ("reply", "koi8r"),
    )
    add(
        "reply-references-only",
        lambda ctx: plain(
            "reply2",
            "Hello again",
            sender="big5@customer.example",
            subject="Re: x",
            extra={"References": "<other@x.example> <big5@customer.example>"},
        )[0],
        ("reply", "big5"),
    )
    add(
        "reply-subject-reference",
        lambda ctx: plain(
            "reply3",
            "About my ticket",
            sender="euc-kr@customer.example",
            subject=f"Re: [#{ctx.tickets['euc-kr']}] Order question",
        )[0],
        ("reply", "euc-kr"),
    )
    add(
        "reply-plus-address",
        lambda ctx: plain(
            "reply4",
            "Replying to the address",
            sender="cp1252@customer.example",
            subject="Re: hi",
            to=_plus(ctx, "cp1252"),
        )[0],
        ("reply", "cp1252"),
    )
    add(
        "reply-our-message-id",
        lambda ctx: plain(
            "reply5",
            "Thanks for the receipt",
            sender="gb2312@customer.example",
            subject="Re: receipt",
            extra={"In-Reply-To": _receipt_id(ctx, "gb2312")},
        )[0],
        ("reply", "gb2312"),
    )
    add(
        "reply-from-participant",
        lambda ctx: plain(
            "reply6",
            "I am the colleague",
            sender="colleague@customer.example",
            subject="Re: help",
            to=_plus(ctx, "cc-colleague"),
        )[0],
        ("reply", "cc-colleague"),
    )
    add(
        "stranger-subject-reference",
        lambda ctx: plain(
            "stranger",
            "I am someone else",
            sender="stranger@elsewhere.example",
            subject=f"Re: [#{ctx.tickets['shift-jis']}]",
        )[0],
        ("held", "shift-jis"),
    )
    add(
        "stranger-plus-address",
        lambda ctx: plain(
            "stranger2",
            "Forwarded your mail to me",
            sender="stranger2@elsewhere.example",
            subject="Re: hi",
            to=_plus(ctx, "iso2022jp"),
        )[0],
        ("held", "iso2022jp"),
    )
    add(
        "reply-to-closed",
        lambda ctx: plain(
            "reply7",
            "It broke again",
            sender="iso8859-15@customer.example",
            subject="Re: cost",
            extra={"In-Reply-To": "<iso8859-15@customer.example>"},
        )[0],
        ("linked", "iso8859-15"),
        before="iso8859-15",
    )
    add(
        "forged-plus-address",
        lambda ctx: plain(
            "forged",
            "Trying to get in",
            sender="forger@elsewhere.example",
            subject="hello",
            to=f"support+t{ctx.tickets['ascii']}.deadbeef@acme.example",
        )[0],
        ("new",),
    )
    return cases


# ---------------------------------------------------------------- helpers the cases use


def _name_is(ticket, name):
    assert ticket.customer.name == name, ticket.customer.name


def _contains(haystack, needle):
    assert needle in haystack, f"{needle!r} not in {str(haystack)[:300]!r}"


def _no_hostile_html(ticket, message):
    html = message.body_html
    for bad in ("<script", "onclick", "javascript:", "tracker.example", "<style", "<iframe"):
        assert bad not in html, f"{bad} survived: {html}"
    assert "Hi" in html


def _inline_image_check(ticket, message):
    attachment = message.attachments.get()
    assert attachment.content_id == "photo1@c.example"
    # Stored as sent; the desk and the portal point cid: at their own download address when showing it.
    assert "cid:photo1@c.example" in message.body_html, message.body_html
    from django.urls import reverse

    from charterdesk.tickets.rendering import render_message

    shown = render_message(message, lambda a: reverse("tickets:attachment", args=[a.pk]))
    assert f"/tickets/attachments/{attachment.pk}/" in shown


def _quoted_check(ticket, message):
    from charterdesk.channels.parse import fold

    assert "> Did it work?" in message.body_text and "CEO" in message.body_text  # kept in full
    main, folded = fold(message.body_text)
    assert main == "Still broken."
    assert "Did it work?" in folded and "CEO" in folded


def _receipt_suppressed(ticket, message):
    from charterdesk.channels.models import OutboundMail

    assert not OutboundMail.objects.filter(ticket=ticket, state="sent").exists()
    assert OutboundMail.objects.filter(ticket=ticket, state="suppressed").exists()


def _receipt_id(ctx: Context, case: str) -> str:
    from charterdesk.channels.addressing import our_message_id

    return our_message_id(ctx.tickets[case], "r", "acme.example")


def _plus(ctx: Context, case: str) -> str:
    from charterdesk.channels.addressing import reply_address

    return reply_address(SUPPORT, ctx.tickets[case])


def _dsn(ctx: Context, case: str | None) -> bytes:
    """A delivery status notification (RFC 3464) as a mail server writes it."""
    recipient = f"{case}@customer.example" if case else "nobody@nowhere.example"
    original_id = _receipt_id(ctx, case) if case else "<someone-else@other.example>"
    return raw_lines(
        "From: Mail Delivery Subsystem <mailer-daemon@mx.example>",
        f"To: {SUPPORT}",
        "Subject: Delivery Status Notification (Failure)",
        f"Message-ID: <dsn-{case}@mx.example>",
        "Auto-Submitted: auto-replied",
        "MIME-Version: 1.0",
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"',
        "",
        "--B",
        "Content-Type: text/plain",
        "",
        "Delivery to the following recipient failed permanently.",
        "--B",
        "Content-Type: message/delivery-status",
        "",
        "Reporting-MTA: dns; mx.example",
        "",
        f"Final-Recipient: rfc822; {recipient}",
        "Action: failed",
        "Status: 5.1.1",
        "Diagnostic-Code: smtp; 550 5.1.1 user unknown",
        "",
        "--B",
        "Content-Type: text/rfc822-headers",
        "",
        f"Message-ID: {original_id}",
        "Subject: receipt",
        "",
        "--B--",
        "",
    )


def ingest_expectations(cases: list[Case]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for case in cases:
        counts[case.expect[0]] = counts.get(case.expect[0], 0) + 1
    return counts


# ---------------------------------------------------------------- fixtures the email tests share

IMMEDIATE_TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def email_env(demo, settings, tmp_path):
    """The demo desk with mail kept in memory, tasks run at once, files in a temporary folder and a
    1 MB attachment limit."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.TASKS = IMMEDIATE_TASKS
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.CHARTERDESK_MAX_ATTACHMENT_BYTES = 1024 * 1024
    return demo


@pytest.fixture
def live_email_env(transactional_db, settings, tmp_path):
    """Like ``email_env`` but with committed data, for listeners and pollers running in threads."""
    from charterdesk.accounts.models import Person
    from charterdesk.demo.loader import load_demo
    from tests.shared import DEMO_SINCE

    load_demo(now=DEMO_SINCE)
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.TASKS = IMMEDIATE_TASKS
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.CHARTERDESK_MAX_ATTACHMENT_BYTES = 1024 * 1024
    return {p.role_ids[0]: p for p in Person.objects.all()}


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def require_tool(name: str) -> str:
    """The path of a system tool, or skip (fail when CHARTERDESK_REQUIRE_EMAIL_PEERS=1)."""
    import os
    import shutil

    path = shutil.which(name) or (f"/usr/sbin/{name}" if os.path.exists(f"/usr/sbin/{name}") else None)
    if path is None:
        message = (
            f"{name} is not installed (apt-get install {'dovecot-imapd' if name == 'dovecot' else name})"
        )
        if os.environ.get("CHARTERDESK_REQUIRE_EMAIL_PEERS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path
