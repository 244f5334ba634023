"""Is a message's sender who its From says? DKIM, SPF and their DMARC alignment, on the raw bytes.

A message is **verified** when the From domain is vouched for by a check that passes *and* is aligned
with it (DMARC's rule, relaxed: the same organisational domain, e.g. ``mail.acme.example`` and
``acme.example``):

- a DKIM signature that verifies (dkimpy) and whose ``d=`` is aligned with the From domain; or
- SPF ``pass`` (pyspf) for the connecting IP address and the MAIL FROM domain, aligned with the From
  domain: only for mail the desk's own SMTP listener received, which alone knows the IP address; or
- when a mailbox (or the listener) is told to trust a receiving server: that server's
  ``Authentication-Results`` header (RFC 8601) with its ``authserv-id`` saying ``dmarc=pass``, or an
  aligned ``dkim=pass`` or ``spf=pass``. Only the topmost such header with that id is read (the
  receiving server adds its own on top; an older one lower down may be the sender's forgery).

Anything else is **unverified**, with the reason in words. A DNS answer that does not come within the
timeout, a malformed signature or any error of a library counts as "unverified", never as a reason to
drop or delay the message: the worst it costs is a confirmation mail to the customer.

The organisational domain is the registrable domain of the Public Suffix List (``publicsuffixlist``,
which ships the list: nothing is fetched at run time). DNS goes through dnspython (dkimpy's and
pyspf's own lookups), with a timeout per lookup; ``dns_txt`` and ``spf_check`` can be given instead,
so that tests use generated keys and no network.

No Django here: the desk's side (which messages need checking, where the result is kept) is in
``senders.py``.
"""

from __future__ import annotations

import email.parser
import email.policy
import functools
import logging
import re
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass

log = logging.getLogger("charterdesk.channels.sender_auth")

# Signatures looked at per message: a message with dozens is not made to cost dozens of lookups.
MAX_SIGNATURES = 5

# (name: bytes, timeout=seconds) -> the TXT record as bytes, or None: dkimpy's ``dnsfunc``.
DnsTxt = Callable[..., bytes | None]
# (ip, mail_from, helo, timeout) -> (result, explanation), result as pyspf's check2 gives it.
SpfCheck = Callable[[str, str, str, float], tuple[str, str]]


@dataclass(frozen=True)
class SenderAuth:
    """The verdict on one message: verified or not, how, and why, in words a person reads."""

    verified: bool
    method: str  # "dkim", "spf", "authentication-results", or "" when unverified
    reason: str

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> SenderAuth:
        return cls(bool(data.get("verified")), str(data.get("method", "")), str(data.get("reason", "")))


@functools.cache
def _suffixes():
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()


def organisational_domain(domain: str) -> str:
    """``mail.acme.co.uk`` -> ``acme.co.uk``; a public suffix or a name without one stays as it is."""
    domain = domain.strip().rstrip(".").lower()
    return _suffixes().privatesuffix(domain) or domain


def aligned(domain: str, from_domain: str) -> bool:
    """DMARC's relaxed alignment: both in the same organisational domain."""
    if not domain or not from_domain:
        return False
    return organisational_domain(domain) == organisational_domain(from_domain)


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].strip().strip(">").rstrip(".").lower() if "@" in address else ""


def _dkimpy_txt(name: bytes, timeout: float = 5) -> bytes | None:
    from dkim.dnsplug import get_txt

    return get_txt(name, timeout=timeout)


class CachedTxt:
    """A TXT lookup that remembers answers (a key, or none) for ``ttl`` seconds, at most ``size``
    names: a batch of mail from one provider asks DNS for its key once, not once a message.
    dnspython's default resolver keeps no cache. A failed lookup is not remembered."""

    def __init__(self, lookup: DnsTxt, *, ttl: float = 300, size: int = 2000, clock=time.monotonic):
        self.lookup, self.ttl, self.size, self.clock = lookup, ttl, size, clock
        self.answers: dict[bytes, tuple[float, bytes | None]] = {}
        self.lock = threading.Lock()

    def __call__(self, name: bytes, timeout: float = 5) -> bytes | None:
        now = self.clock()
        with self.lock:
            kept = self.answers.get(name)
        if kept is not None and kept[0] > now:
            return kept[1]
        answer = self.lookup(name, timeout=timeout)
        with self.lock:
            if len(self.answers) >= self.size:
                self.answers.clear()  # simplest bound; a full cache refills within one batch
            self.answers[name] = (now + self.ttl, answer)
        return answer


# dkimpy's own lookup (dnspython, ``lifetime=timeout``), answers kept five minutes in this process.
default_dns_txt = CachedTxt(_dkimpy_txt)


def default_spf_check(ip: str, mail_from: str, helo: str, timeout: float) -> tuple[str, str]:
    """pyspf's RFC 7208 check, all its lookups together bounded by ``timeout``."""
    import spf

    with warnings.catch_warnings():
        # pyspf calls dnspython's older ``resolver.query``, which dnspython 2 keeps but warns about.
        warnings.simplefilter("ignore", DeprecationWarning)
        return spf.check2(i=ip, s=mail_from, h=helo or "unknown", timeout=timeout, querytime=timeout)


def authenticate(
    raw: bytes,
    from_address: str,
    *,
    client_ip: str = "",
    mail_from: str = "",
    helo: str = "",
    trusted_authserv_id: str = "",
    dns_txt: DnsTxt | None = None,
    spf_check: SpfCheck | None = None,
    timeout: float = 5.0,
) -> SenderAuth:
    """The verdict on ``raw`` (the bytes as received) claiming to be from ``from_address``.

    ``client_ip``, ``mail_from`` and ``helo``: the SMTP session's, when the desk received the message
    itself (SPF is checked only then). ``trusted_authserv_id``: read that server's
    Authentication-Results instead of checking here."""
    verdict = _authenticate(
        raw,
        from_address,
        client_ip=client_ip,
        mail_from=mail_from,
        helo=helo,
        trusted_authserv_id=trusted_authserv_id,
        dns_txt=dns_txt,
        spf_check=spf_check,
        timeout=timeout,
    )
    # The reason quotes what the sender wrote (a d= domain, a malformed tag): no control characters
    # (PostgreSQL stores no NUL, in text or JSON), and short enough for the ticket's badge.
    reason = _CONTROL.sub("?", verdict.reason)
    return SenderAuth(verdict.verified, verdict.method, reason[:REASON_LENGTH])


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
REASON_LENGTH = 260


def _authenticate(
    raw: bytes,
    from_address: str,
    *,
    client_ip: str,
    mail_from: str,
    helo: str,
    trusted_authserv_id: str,
    dns_txt: DnsTxt | None,
    spf_check: SpfCheck | None,
    timeout: float,
) -> SenderAuth:
    from_domain = domain_of(from_address)
    if not from_domain:
        return SenderAuth(False, "", "the From address has no domain")
    if len(_headers(raw).get_all("From") or []) > 1:
        # A signature covers one of them (the last); the desk reads the first: DMARC refuses such mail.
        return SenderAuth(False, "", "the message has more than one From header")
    try:
        if trusted_authserv_id:
            return _from_authentication_results(raw, from_domain, trusted_authserv_id.strip())
        dkim = _dkim(raw, from_domain, dns_txt or default_dns_txt, timeout)
        if dkim.verified:
            return dkim
        reasons = [dkim.reason]
        if client_ip:
            spf = _spf(client_ip, mail_from, helo, from_domain, spf_check or default_spf_check, timeout)
            if spf.verified:
                return spf
            reasons.append(spf.reason)
        else:
            reasons.append("SPF not checked (the desk did not receive it from the sending server itself)")
        return SenderAuth(False, "", "; ".join(reasons))
    except Exception as exc:  # a library's failure must never lose or stop a message
        log.warning("sender authentication failed for a message from %s", from_domain, exc_info=True)
        return SenderAuth(False, "", f"the check could not be completed ({type(exc).__name__})")


def _dkim(raw: bytes, from_domain: str, dns_txt: DnsTxt, timeout: float) -> SenderAuth:
    import dkim

    checker = dkim.DKIM(raw, timeout=timeout, minkey=1024, logger=log)
    count = sum(1 for name, _ in checker.headers if name.lower() == b"dkim-signature")
    if count == 0:
        return SenderAuth(False, "", "no DKIM signature")
    lookups_failed: list[Exception] = []

    def lookup(name: bytes, timeout: float = timeout) -> bytes | None:
        # dkimpy turns a failed lookup into "does not verify"; remembered here to say why.
        try:
            return dns_txt(name, timeout=timeout)
        except Exception as exc:
            lookups_failed.append(exc)
            raise dkim.DnsTimeoutError(f"{type(exc).__name__}: {exc}") from exc

    found = []
    for index in range(min(count, MAX_SIGNATURES)):
        lookups_failed.clear()
        try:
            ok = checker.verify(idx=index, dnsfunc=lookup)
        except dkim.DnsTimeoutError:
            found.append("a DKIM key could not be looked up in time")
            continue
        except dkim.ValidationError as exc:
            # dkimpy says why (e.g. "body hash mismatch"), followed by the hashes: the words suffice.
            found.append(f"a DKIM signature does not verify ({str(exc).split(' (')[0]})")
            continue
        except dkim.DKIMException as exc:
            found.append(f"a DKIM signature is malformed ({exc})")
            continue
        domain = (checker.domain or b"").decode("ascii", "replace").lower()
        if not ok and lookups_failed:
            found.append(f"the DKIM key of {domain or 'an unnamed domain'} could not be looked up in time")
        elif not ok:
            found.append(f"the DKIM signature of {domain or 'an unnamed domain'} does not verify")
        elif b"from" not in (checker.include_headers or ()):
            # RFC 6376 requires it, but dkimpy verifies such a signature: it vouches for no sender.
            found.append(f"the DKIM signature of {domain} does not cover the From header")
        elif _partial(checker):
            # l= signs only the first bytes of the body: anyone may have added the rest.
            found.append(f"the DKIM signature of {domain} covers only part of the message (l=)")
        elif aligned(domain, from_domain):
            return SenderAuth(
                True, "dkim", f"DKIM signature of {domain} verifies and matches the From domain"
            )
        else:
            found.append(
                f"the DKIM signature verifies but is {domain}'s, not the From domain {from_domain}'s"
            )
    return SenderAuth(False, "", "; ".join(found))


def _partial(checker) -> bool:
    """Whether the signature just verified has a body length (l=) short of the body as received."""
    length = (checker.signature_fields or {}).get(b"l")
    if length is None:
        return False
    try:
        return int(length) < len(checker.body or b"")
    except ValueError:
        return True


def _spf(ip: str, mail_from: str, helo: str, from_domain: str, check: SpfCheck, timeout: float) -> SenderAuth:
    # RFC 7208: with an empty MAIL FROM (a bounce) the HELO name is the identity checked.
    identity = domain_of(mail_from) or helo.strip().lower()
    result, _explanation = check(ip, mail_from or f"postmaster@{helo}", helo, timeout)
    if result != "pass":
        return SenderAuth(False, "", f"SPF {result} for {identity or 'no sender domain'} from {ip}")
    if not aligned(identity, from_domain):
        return SenderAuth(False, "", f"SPF passes for {identity}, which is not the From domain {from_domain}")
    return SenderAuth(True, "spf", f"SPF passes for {identity} from {ip} and matches the From domain")


def _from_authentication_results(raw: bytes, from_domain: str, authserv_id: str) -> SenderAuth:
    import authres

    for value in _headers(raw).get_all("Authentication-Results") or []:
        text = " ".join(str(value).split())
        try:
            header = authres.AuthenticationResultsHeader.parse_value(text)
        except authres.AuthResError:
            continue
        if (header.authserv_id or "").lower() != authserv_id.lower():
            continue
        return _read_results(header, from_domain, authserv_id)
    return SenderAuth(False, "", f"no Authentication-Results header from {authserv_id}")


def _headers(raw: bytes):
    """The header block of ``raw``, parsed (nothing of the body is read)."""
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    return email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(head + b"\n\n")


def _read_results(header, from_domain: str, authserv_id: str) -> SenderAuth:
    said = []
    for result in header.results:
        method, verdict = (result.method or "").lower(), (result.result or "").lower()
        said.append(f"{method}={verdict}")
        if verdict != "pass":
            continue
        properties = {f"{p.type}.{p.name}".lower(): (p.value or "") for p in result.properties}
        if method == "dmarc" and aligned(properties.get("header.from", from_domain), from_domain):
            return SenderAuth(True, "authentication-results", f"{authserv_id} reported DMARC pass")
        # Some servers name the signing domain only by the identity (header.i=@acme.example).
        signer = properties.get("header.d") or domain_of(properties.get("header.i", ""))
        if method == "dkim" and aligned(signer, from_domain):
            return SenderAuth(True, "authentication-results", f"{authserv_id} reported an aligned DKIM pass")
        if method == "spf" and aligned(domain_of(properties.get("smtp.mailfrom", "")), from_domain):
            return SenderAuth(True, "authentication-results", f"{authserv_id} reported an aligned SPF pass")
    return SenderAuth(False, "", f"{authserv_id} reported {', '.join(said) or 'no results'}, none aligned")
