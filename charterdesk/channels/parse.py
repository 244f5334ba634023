"""Raw email bytes -> plain data the desk can act on. No database, no Django models.

Python's ``email`` package is lenient when parsing (the ``compat32`` policy never raises on a
malformed header), so this module does the decoding itself: every header and body goes through a
charset fallback chain (the declared charset, then UTF-8, then Windows-1252) and nothing a sender
wrote is lost; bytes that no charset explains become U+FFFD rather than an exception.
"""

from __future__ import annotations

import codecs
import email
import email.message
import email.utils
import hashlib
import html
import mimetypes
import re
import unicodedata
from dataclasses import dataclass, field
from email.header import Header, decode_header

import nh3

DEFAULT_ATTACHMENT_LIMIT = 15 * 1024 * 1024


class ParseError(Exception):
    """A message the desk cannot read; the text says what is wrong, for the quarantine."""


@dataclass
class Part:
    """An attachment or an inline image of a message."""

    filename: str
    content_type: str
    data: bytes
    content_id: str = ""
    inline: bool = False

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass
class Skipped:
    """An attachment that was not kept (too large); the raw message still holds it."""

    filename: str
    size: int
    reason: str


@dataclass
class ParsedEmail:
    """What the desk needs from one message, decoded."""

    message_id: str
    subject: str
    from_name: str
    from_address: str
    to: list[str]
    cc: list[str]
    reply_to: list[str]
    delivered_to: list[str]
    in_reply_to: list[str]
    references: list[str]
    date: str
    text: str
    html: str
    parts: list[Part] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    defects: list[str] = field(default_factory=list)
    # Delivery status notification details, when the message is a bounce.
    bounce: dict | None = None

    @property
    def recipients(self) -> list[str]:
        return [*self.delivered_to, *self.to, *self.cc]

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


# --------------------------------------------------------------------------- charsets


_CHARSET_ALIASES = {
    "utf8": "utf-8",
    "utf8mb4": "utf-8",
    "unicode-1-1-utf-7": "utf-7",
    "x-unknown": "",
    "unknown-8bit": "",
    "x-user-defined": "",
    "default": "",
    "iso-8859-8-i": "iso-8859-8",
    "ks_c_5601-1987": "cp949",
    "gb2312": "gb18030",  # a superset: real-world "gb2312" mail is often GBK
    "gbk": "gb18030",
    "windows-874": "cp874",
    "iso-2022-jp": "iso2022_jp_ext",
    "ansi_x3.4-1968": "ascii",
    "us-ascii": "ascii",
}


def _codec(charset: str | None) -> str | None:
    if not charset:
        return None
    name = charset.strip().strip('"').lower()
    name = _CHARSET_ALIASES.get(name, name)
    if not name:
        return None
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode_bytes(data: bytes, charset: str | None = None) -> str:
    """Bytes to text: the declared charset if it decodes cleanly, then UTF-8, then Windows-1252."""
    codec = _codec(charset)
    if codec in ("ascii", None) and data.isascii():
        return data.decode("ascii")
    tried = []
    for candidate in (codec, "utf-8", "cp1252"):
        if candidate is None or candidate in tried:
            continue
        tried.append(candidate)
        try:
            # ASCII mail that is really UTF-8 (a common lie) falls through to UTF-8.
            return data.decode(candidate)
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode(codec or "utf-8", errors="replace")


def _unsurrogate(text: str) -> str:
    """Headers with raw 8-bit bytes arrive as surrogate escapes; decode them as text."""
    if not any("\udc80" <= ch <= "\udcff" for ch in text):
        return text
    return decode_bytes(text.encode("ascii", "surrogateescape"))


_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")


def decode_words(value) -> str:
    """An RFC 2047 header value (encoded words, any charset, malformed or not) to text."""
    if value is None:
        return ""
    if isinstance(value, Header):
        # compat32 hands back raw 8-bit header bytes as a Header in the "unknown-8bit" charset.
        return _collapse(
            "".join(
                decode_bytes(chunk, charset) if isinstance(chunk, bytes) else chunk
                for chunk, charset in decode_header(value)
            )
        )
    text = _unsurrogate(str(value))
    if "=?" not in text:
        return _collapse(text)
    # Encoded words glued to their neighbours ("Re:=?utf-8?q?...?=") are common; space them out.
    text = re.sub(r"(?<=[^\s(\"])(=\?[^?\s]+\?[bBqQ]\?)", r" \1", text)
    text = re.sub(r"(\?=)(?=[^\s)\"])", r"\1 ", text)
    try:
        chunks = decode_header(text)
    except Exception:
        return _collapse(_ENCODED_WORD.sub(lambda m: _decode_word(*m.groups()), text))
    out = []
    for chunk, charset in chunks:
        out.append(decode_bytes(chunk, charset) if isinstance(chunk, bytes) else chunk)
    return _collapse("".join(out))


def _decode_word(charset: str, encoding: str, payload: str) -> str:
    import base64
    import quopri

    try:
        if encoding.lower() == "b":
            data = base64.b64decode(payload + "=" * (-len(payload) % 4))
        else:
            data = quopri.decodestring(payload.replace("_", " ").encode("ascii", "replace"), header=True)
    except Exception:
        return payload
    return decode_bytes(data, charset)


# Control characters a header can decode to (=00 in an encoded word): PostgreSQL text cannot hold
# NUL, and none of them means anything in a subject, a name or an address.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _collapse(text: str) -> str:
    return re.sub(r"[\r\n\t ]+", " ", _CONTROL.sub("", text)).strip()


# --------------------------------------------------------------------------- headers and addresses


def normalise_address(address: str) -> str:
    return _CONTROL.sub("", address).strip().strip("<>").strip().lower()


def addresses(values: list) -> list[tuple[str, str]]:
    """(name, address) pairs from address headers; names decoded, addresses lower-cased."""
    # Raw 8-bit bytes in the header come as a Header, whose str() has already lost them to U+FFFD.
    raw = [
        decode_words(v) if isinstance(v, Header) else _unsurrogate(str(v)) for v in values if v is not None
    ]
    pairs = []
    for name, address in email.utils.getaddresses(raw):
        address = normalise_address(address)
        if "@" not in address:
            continue
        pairs.append((decode_words(name).strip().strip('"'), address))
    return pairs


_MSGID = re.compile(r"<([^<>\s\x00-\x1f\x7f]+)>")


def message_ids(value) -> list[str]:
    """Message-IDs from an In-Reply-To or References header, each as ``<id>``."""
    if not value:
        return []
    text = _unsurrogate(str(value))
    found = [f"<{m}>" for m in _MSGID.findall(text)]
    if not found:
        # Some mailers drop the angle brackets.
        found = [f"<{w}>" for w in _CONTROL.sub("", text).split() if "@" in w]
    return found


def clean_message_id(value) -> str:
    ids = message_ids(value)
    return ids[0][:300] if ids else ""


# --------------------------------------------------------------------------- file names


_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"|?*\\/]+')


def safe_filename(name: str | None, content_type: str = "application/octet-stream", index: int = 1) -> str:
    """A file name that is safe to show and store: no path, no control characters, not hidden,
    at most 150 characters with its extension kept."""
    name = decode_words(name or "")
    name = unicodedata.normalize("NFC", name)
    name = re.split(r"[\\/]", name)[-1]
    name = _UNSAFE.sub("_", name).strip(" ._")
    if not name:
        extension = mimetypes.guess_extension(content_type or "") or ".bin"
        name = f"attachment-{index}{extension}"
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""
    if len(name) > 150:
        extension = extension[:20]
        stem = stem[: 150 - len(extension) - 1]
        name = f"{stem}.{extension}" if extension else stem[:150]
    return name


# --------------------------------------------------------------------------- HTML

_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "caption",
    "code",
    "dd",
    "del",
    "div",
    "dl",
    "dt",
    "em",
    "font",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "ins",
    "li",
    "ol",
    "p",
    "pre",
    "q",
    "s",
    "small",
    "span",
    "strike",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "u",
    "ul",
}
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "ol": {"start"},
}


def _only_cid_images(element: str, attribute: str, value: str) -> str | None:
    # Remote images are tracking pixels more often than content; inline (cid:) ones are kept.
    if element == "img" and attribute == "src":
        return value if value.lower().startswith("cid:") else None
    return value


def sanitize_html(markup: str) -> str:
    """HTML safe to show inside the desk: no scripts, styles, forms, event handlers or remote images."""
    return nh3.clean(
        markup,
        tags=_TAGS,
        clean_content_tags={"script", "style", "title", "head"},
        attributes=_ATTRIBUTES,
        attribute_filter=_only_cid_images,
        url_schemes={"http", "https", "mailto", "cid"},
        link_rel="noopener noreferrer nofollow",
    ).strip()


_BLOCK_END = re.compile(r"(?i)<\s*(br|/p|/div|/tr|/li|/h[1-6]|/blockquote|hr)\b[^>]*>")


def html_to_text(markup: str) -> str:
    """Readable plain text of an HTML body (for search and for mail that came without a text part)."""
    text = _BLOCK_END.sub(lambda m: m.group(0) + "\n", markup)
    text = nh3.clean(text, tags=set(), clean_content_tags={"script", "style", "title", "head"})
    text = html.unescape(text)
    lines = [re.sub(r"[ \t\xa0]+", " ", line).strip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# --------------------------------------------------------------------------- quoted history


_QUOTE_INTRO = re.compile(
    r"^(on .{5,200} wrote:|le .{5,200} a écrit ?:|am .{5,200} schrieb .{1,100}:|"
    r"-{2,} ?original message ?-{2,}|-{2,} ?forwarded message ?-{2,}|"
    r"_{10,}|from: .+|von: .+|de : .+)$",
    re.IGNORECASE,
)
_SIGNATURE = re.compile(r"^(-- |--|sent from my \w+.*|get outlook for \w+.*)$", re.IGNORECASE)


def fold(text: str) -> tuple[str, str]:
    """Split a message into what the person wrote and the quoted history / signature after it.

    The second part is only folded away in the view; the message is always stored in full.
    A message that is nothing but quotes (a bare forward) is not folded at all.
    """
    lines = text.splitlines()
    cut = None
    for index, line in enumerate(lines):
        stripped = line.strip()
        if index > 0 and (_QUOTE_INTRO.match(stripped) or _SIGNATURE.match(line.rstrip())):
            cut = index
            break
        if stripped.startswith(">") and all(
            not later.strip() or later.lstrip().startswith(">") or _SIGNATURE.match(later.rstrip())
            for later in lines[index:]
        ):
            cut = index
            break
    if cut is None or not "\n".join(lines[:cut]).strip():
        return text, ""
    return "\n".join(lines[:cut]).rstrip(), "\n".join(lines[cut:]).strip("\n")


# --------------------------------------------------------------------------- bounces


def _is_bounce(message: email.message.Message, from_address: str, subject: str) -> bool:
    if message.get_content_type() == "multipart/report":
        report = (message.get_param("report-type") or "").lower()
        if (
            report in ("delivery-status", "")
            and message.get_param("report-type") != "disposition-notification"
        ):
            return True
    local = from_address.split("@")[0]
    return local in ("mailer-daemon", "postmaster") and bool(
        re.search(r"(?i)undeliver|delivery (status|failure|has failed)|failure notice|returned mail", subject)
    )


def _bounce_details(message: email.message.Message) -> dict:
    details: dict = {"recipients": [], "status": "", "diagnostic": "", "original_message_id": ""}
    for part in message.walk():
        ctype = part.get_content_type()
        if ctype == "message/delivery-status":
            payload = part.get_payload()
            blocks = payload if isinstance(payload, list) else []
            if not blocks:
                raw = part.get_payload(decode=True) or b""
                blocks = [email.message_from_bytes(b) for b in raw.split(b"\n\n") if b.strip()]
            for block in blocks:
                recipient = block.get("Final-Recipient") or block.get("Original-Recipient")
                if recipient:
                    details["recipients"].append(normalise_address(str(recipient).split(";")[-1]))
                if block.get("Status") and not details["status"]:
                    details["status"] = _collapse(str(block.get("Status")))
                if block.get("Diagnostic-Code") and not details["diagnostic"]:
                    details["diagnostic"] = _collapse(str(block.get("Diagnostic-Code")).split(";", 1)[-1])
        elif ctype in ("message/rfc822", "text/rfc822-headers") and not details["original_message_id"]:
            if ctype == "message/rfc822":
                inner = part.get_payload()
                original = inner[0] if isinstance(inner, list) and inner else None
            else:
                original = email.message_from_bytes(part.get_payload(decode=True) or b"")
            if original is not None:
                details["original_message_id"] = clean_message_id(original.get("Message-ID"))
    if not details["recipients"]:
        # Plain-text bounces (qmail's "failure notice") name the address in angle brackets.
        body = message.get_payload(decode=True) if not message.is_multipart() else b""
        found = re.findall(rb"<([^<>\s@]+@[^<>\s]+)>", body or b"")
        details["recipients"] = [normalise_address(f.decode("ascii", "replace")) for f in found[:3]]
        if not details["diagnostic"] and body:
            details["diagnostic"] = _collapse(decode_bytes(body))[:500]
    return details


# --------------------------------------------------------------------------- the message


def content_hash(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def raw_message_id(raw: bytes) -> str:
    """The Message-ID of raw bytes, read cheaply from the header block (for idempotency)."""
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    match = re.search(rb"(?im)^message-id:[ \t]*(.*(?:\r?\n[ \t].*)*)", head)
    if not match:
        return ""
    return clean_message_id(match.group(1).decode("ascii", "replace"))


def parse_email(raw: bytes, *, attachment_limit: int = DEFAULT_ATTACHMENT_LIMIT) -> ParsedEmail:
    """Parse raw message bytes. Raises ``ParseError`` only when there is nothing to work with."""
    if not raw or not raw.strip():
        raise ParseError("the message is empty")
    try:
        message = email.message_from_bytes(raw)
    except Exception as exc:  # pragma: no cover - compat32 practically never raises
        raise ParseError(f"the message cannot be parsed: {exc}") from exc
    if not message.keys():
        raise ParseError("the message has no headers (is this an email at all?)")

    headers: dict[str, str] = {}
    for key, value in message.items():
        headers.setdefault(key.lower(), decode_words(value)[:2000])

    senders = addresses(message.get_all("From") or []) or addresses(message.get_all("Sender") or [])
    from_name, from_address = senders[0] if senders else ("", "")
    subject = decode_words(message.get("Subject"))[:1000]

    text_parts: list[str] = []
    html_parts: list[str] = []
    parts: list[Part] = []
    skipped: list[Skipped] = []
    index = 0
    for part in _leaves(message):
        index += 1
        ctype = part.get_content_type()
        if ctype.startswith("multipart/"):
            ctype = "text/plain"  # a multipart without a usable boundary: its body is all there is
        disposition = (part.get_content_disposition() or "").lower()
        try:
            raw_name = part.get_filename()
        except Exception:
            raw_name = None
        content_id = clean_message_id(part.get("Content-ID")).strip("<>")
        is_text_body = ctype in ("text/plain", "text/html") and disposition != "attachment" and not raw_name
        if is_text_body:
            data = _payload(part)
            charset = part.get_content_charset() or part.get_param("charset")
            text = decode_bytes(data, charset if isinstance(charset, str) else None)
            (html_parts if ctype == "text/html" else text_parts).append(text)
            continue
        if ctype == "message/rfc822":
            data = _attached_message_bytes(part)
            inner = email.message_from_bytes(data) if data else None
            name = raw_name or (decode_words(inner.get("Subject")) if inner is not None else "") or "message"
            filename = safe_filename(name if name.endswith(".eml") else f"{name}.eml", ctype, index)
        else:
            data = _payload(part)
            filename = safe_filename(raw_name, ctype, index)
        inline = bool(content_id) and ctype.startswith("image/") and disposition != "attachment"
        if len(data) > attachment_limit:
            skipped.append(Skipped(filename, len(data), f"larger than the {_size(attachment_limit)} limit"))
            continue
        parts.append(Part(filename, ctype, data, content_id=content_id, inline=inline))

    text = "\n\n".join(t.strip("\n") for t in text_parts if t.strip())
    html_body = "\n".join(html_parts)
    if not text and html_body:
        text = html_to_text(html_body)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    if skipped:
        notes = [
            f"[Attachment '{s.filename}' ({_size(s.size)}) was not kept: {s.reason}. "
            "The original email is kept whole in the desk.]"
            for s in skipped
        ]
        text = (text + "\n\n" + "\n".join(notes)).strip()

    parsed = ParsedEmail(
        message_id=clean_message_id(message.get("Message-ID")),
        subject=subject,
        from_name=from_name,
        from_address=from_address,
        to=[a for _, a in addresses(message.get_all("To") or [])],
        cc=[a for _, a in addresses(message.get_all("Cc") or [])],
        reply_to=[a for _, a in addresses(message.get_all("Reply-To") or [])],
        delivered_to=[a for _, a in addresses(message.get_all("Delivered-To") or [])]
        + [a for _, a in addresses(message.get_all("X-Original-To") or [])],
        in_reply_to=message_ids(message.get("In-Reply-To")),
        references=message_ids(" ".join(str(v) for v in message.get_all("References") or [])),
        date=headers.get("date", ""),
        text=text,
        html=sanitize_html(html_body) if html_body.strip() else "",
        parts=parts,
        skipped=skipped,
        headers=headers,
        defects=[type(d).__name__ for d in message.defects],
    )
    if _is_bounce(message, from_address, subject):
        parsed.bounce = _bounce_details(message)
    return parsed


def _leaves(message: email.message.Message):
    """The non-multipart parts, not descending into attached messages (they stay whole as .eml)."""
    if message.is_multipart() and message.get_content_type() != "message/rfc822":
        for sub in message.get_payload() or []:
            if isinstance(sub, email.message.Message):
                yield from _leaves(sub)
    else:
        yield message


def _payload(part: email.message.Message) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if data is None:
        payload = part.get_payload()
        data = payload.encode("utf-8", "surrogateescape") if isinstance(payload, str) else b""
    return data


def _attached_message_bytes(part: email.message.Message) -> bytes:
    payload = part.get_payload()
    if isinstance(payload, list) and payload:
        try:
            return payload[0].as_bytes()
        except Exception:
            return str(payload[0]).encode("utf-8", "replace")
    return _payload(part)


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB"
    if n >= 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n} bytes"


_TICKET_REFERENCE = re.compile(r"\[#(\d{1,12})\]")


def subject_ticket_reference(subject: str) -> int | None:
    """The ticket number in a subject such as ``Re: [#123] Tent pole``."""
    match = _TICKET_REFERENCE.search(subject or "")
    return int(match.group(1)) if match else None
