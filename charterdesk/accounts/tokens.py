"""The one-time links emailed for a forgotten password and a locked account.

Both are Django's signed tokens (``PasswordResetTokenGenerator``): they hold no row, expire after
``PASSWORD_RESET_TIMEOUT`` seconds (``CHARTERDESK_LINK_SECONDS``, an hour by default), and are
signed over the state they change, so each works once: a reset link over the password hash (the
new password voids it), an unlock link over the time of the lock (unlocking voids it).
"""

from __future__ import annotations

from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from .models import Person


class ResetTokens(PasswordResetTokenGenerator):
    key_salt = "charterdesk.accounts.password-reset"


class UnlockTokens(PasswordResetTokenGenerator):
    key_salt = "charterdesk.accounts.unlock"

    def _make_hash_value(self, user, timestamp):
        locked = user.sign_in_locked_at.timestamp() if user.sign_in_locked_at else ""
        return f"{user.pk}:{locked}:{timestamp}"


reset_tokens = ResetTokens()
unlock_tokens = UnlockTokens()


def person_id(person: Person) -> str:
    return urlsafe_base64_encode(force_bytes(person.pk))


def person_from(uid: str) -> Person | None:
    try:
        pk = int(force_str(urlsafe_base64_decode(uid)))
    except (TypeError, ValueError, OverflowError):
        return None
    return Person.objects.filter(pk=pk, is_active=True).first()
