"""Sign-in links of the customer portal. Customers are not people of the desk: they sign in with
a one-use link sent to their email address, never with a password."""

from __future__ import annotations

from django.db import models

from charterdesk.tickets.models import Customer, Ticket


class PortalLink(models.Model):
    """A one-use, short-lived sign-in link for a customer. Only the token's hash is stored, so
    the database alone cannot sign anyone in."""

    token_hash = models.CharField(max_length=64, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="portal_links")
    ticket = models.ForeignKey(
        Ticket,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="the ticket the customer lands on after signing in, if the link was sent for one",
    )
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["customer", "created_at"], name="portal_link_by_customer")]

    def __str__(self) -> str:
        state = "used" if self.used_at else f"until {self.expires_at:%Y-%m-%d %H:%M}"
        return f"sign-in link for customer {self.customer_id} ({state})"

    def usable_at(self, moment) -> bool:
        return self.used_at is None and moment < self.expires_at
