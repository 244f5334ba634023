"""The second factor: codes from an authenticator app (TOTP, by pyotp) and recovery codes.

A person with an authenticator app signs in in two steps: the password, then a code. Each code
works once (the step of the latest accepted code is kept), one step of clock drift either way is
accepted, and ten recovery codes (kept hashed) each work once for a lost phone. A manager
chooses the roles whose holders must enrol (``TwoFactorRole``); a person holding one is sent to
enrol before any other desk page.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

import pyotp

from .models import Person, RecoveryCode, SecondFactor, TwoFactorRole

ISSUER = "Charterdesk"
RECOVERY_CODES = 10
STEP = 30


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def matching_step(secret: str, code: str, now: dt.datetime) -> int | None:
    """The 30-second step whose code ``code`` is (now, or one step either side), or None."""
    code = "".join(code.split())
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    here = totp.timecode(now)
    for step in (here, here - 1, here + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def hash_recovery(code: str) -> str:
    return hashlib.sha256("".join(code.lower().split()).replace("-", "").encode()).hexdigest()


def new_recovery_codes() -> list[str]:
    """Ten codes like ``k3f9-x2m7``: easy to type from paper."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(alphabet) for _ in range(8))
        codes.append(f"{raw[:4]}-{raw[4:]}")
    return codes


def enrolled(person: Person) -> bool:
    return SecondFactor.objects.filter(person=person).exists()


def required_for(person: Person) -> bool:
    """Whether one of the person's roles must use a second factor."""
    return TwoFactorRole.objects.filter(role__in=person.role_ids).exists()


def unused_recovery(person: Person, code: str) -> RecoveryCode | None:
    digest = hash_recovery(code)
    return RecoveryCode.objects.filter(person=person, code_hash=digest, used_at__isnull=True).first()
