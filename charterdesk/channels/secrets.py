"""Mailbox passwords at rest: encrypted and authenticated with Fernet (the `cryptography` package).

The desk must give the password back to the IMAP server, so it cannot hash it. The key is
derived from SECRET_KEY with HKDF, so no second secret has to be managed. Changing SECRET_KEY
makes stored passwords unreadable; the mailbox page then asks for the password again.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

PREFIX = "v2:"


class SecretError(Exception):
    pass


def _fernet() -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"charterdesk.channels.mailbox").derive(
        settings.SECRET_KEY.encode("utf-8")
    )
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(plain: str) -> str:
    return PREFIX + _fernet().encrypt(plain.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    if not token.startswith(PREFIX):
        raise SecretError("the stored password is not in a known format; enter it again")
    try:
        return _fernet().decrypt(token[len(PREFIX) :].encode("ascii")).decode("utf-8")
    except InvalidToken:
        raise SecretError(
            "the stored password cannot be read (was SECRET_KEY changed?); enter it again"
        ) from None
