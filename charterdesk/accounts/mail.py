from django.conf import settings
from django.core.mail import send_mail


def send_invitation(invitation, link: str) -> None:
    inviter = invitation.invited_by.name if invitation.invited_by else "Your support manager"
    send_mail(
        subject="You are invited to the support desk",
        message=(
            f"Hello {invitation.name},\n\n{inviter} invited you to the support desk as "
            f"{', '.join(invitation.roles)}.\n\nSet your password here (the link works for 7 days):\n{link}\n"
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[invitation.email],
        fail_silently=True,
    )


def send_password_reset(person, link: str, minutes: int) -> None:
    send_mail(
        subject="Choose a new password for the support desk",
        message=(
            f"Hello {person.first_name},\n\nSomeone (we hope you) asked to choose a new password for "
            f"the support desk. Choose it here; the link works once, for {minutes} minutes:\n{link}\n\n"
            "If it was not you, ignore this email: your password stays as it is.\n"
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[person.email],
        fail_silently=True,
    )


def send_unlock(person, link: str, minutes: int) -> None:
    send_mail(
        subject="Your support desk account is locked",
        message=(
            f"Hello {person.first_name},\n\nYour account was locked after too many failed sign-ins. "
            f"If those were you, unlock it here (the link works once, for {minutes} minutes):\n{link}\n\n"
            "If they were not you, someone is guessing your password: unlock it, then choose a new "
            "password, and tell your manager.\n"
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[person.email],
        fail_silently=True,
    )
