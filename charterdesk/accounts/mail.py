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
