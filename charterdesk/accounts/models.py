"""People who work the desk, the protocol roles they hold, and invitations."""

from __future__ import annotations

import zoneinfo

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.core.exceptions import ValidationError
from django.db import models


def validate_timezone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            f"'{value}' is not a time zone; use an IANA name such as Europe/Berlin"
        ) from None


class PersonManager(BaseUserManager):
    def create_person(self, email: str, name: str, password: str | None = None, **extra):
        person = self.model(email=self.normalize_email(email).lower(), name=name, **extra)
        person.set_password(password) if password else person.set_unusable_password()
        person.save(using=self._db)
        return person


class Person(AbstractBaseUser):
    """A member of the support team. What they may do comes only from their roles' permissions."""

    email = models.EmailField(unique=True)
    name = models.CharField(max_length=150)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    is_active = models.BooleanField(default=True)
    away = models.BooleanField(default=False, help_text="Away people are skipped by automatic assignment")
    created_at = models.DateTimeField(auto_now_add=True)
    # Raised by "sign out my other sessions": every session signed with the old value ends.
    session_generation = models.PositiveIntegerField(default=0)
    # Set when too many failed sign-ins lock the account; cleared by the emailed unlock link or a
    # password reset.
    sign_in_locked_at = models.DateTimeField(null=True, blank=True)

    objects = PersonManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["name"]

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name or self.email

    def get_session_auth_hash(self) -> str:
        """Django ends a session whose stored hash differs from this one: a new password ends
        them all, and so does a new ``session_generation``."""
        from django.utils.crypto import salted_hmac

        return salted_hmac(
            "charterdesk.accounts.session", f"{self.password}:{self.session_generation}", algorithm="sha256"
        ).hexdigest()

    @property
    def audit_label(self) -> str:
        # By id, never by name or address: erasing a person's data later leaves the chain intact.
        return f"person #{self.pk}"

    @property
    def role_ids(self) -> list[str]:
        cached = getattr(self, "_role_ids", None)
        if cached is None:
            cached = sorted(self.roles.values_list("role", flat=True))
            self._role_ids = cached
        return cached

    @property
    def first_name(self) -> str:
        return self.name.split()[0] if self.name else ""


class PersonRole(models.Model):
    """A protocol role (by its id in the protocol file) held by a person."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="roles")
    role = models.CharField(max_length=64)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["person", "role"], name="role_held_once")]
        ordering = ["role"]

    def __str__(self) -> str:
        return f"{self.person} as {self.role}"


class Invitation(models.Model):
    """An invitation to join the desk; the link carries a secret whose hash only is stored."""

    email = models.EmailField()
    name = models.CharField(max_length=150)
    roles = models.JSONField(default=list)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(Person, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"invitation for {self.email}"


class SecondFactor(models.Model):
    """A person's authenticator app (TOTP, RFC 6238: six digits every 30 seconds). The secret must
    be readable to check codes; it is shown once, at enrolment."""

    person = models.OneToOneField(Person, on_delete=models.CASCADE, related_name="second_factor")
    secret = models.CharField(max_length=64)
    enrolled_at = models.DateTimeField()
    # The 30-second step of the latest code accepted: a code is good once, never replayed.
    last_step = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"authenticator app of {self.person}"


class RecoveryCode(models.Model):
    """One of the ten single-use codes given at enrolment, for a lost phone; kept only hashed."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="recovery_codes")
    code_hash = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"recovery code of {self.person}"


class TwoFactorRole(models.Model):
    """A protocol role whose holders must use a second factor: the desk's own setting (not the
    protocol's), kept here and edited by people.manage on the people page."""

    role = models.CharField(max_length=64, unique=True)

    def __str__(self) -> str:
        return self.role
