"""The one table core keeps: the counters of the rate limits (``core/ratelimit.py``)."""

from __future__ import annotations

from django.db import models


class RateCounter(models.Model):
    """How many attempts one key (a scope, a hashed client address or email, a window number) made
    in its window. Counted with one atomic ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``, so
    any number of web workers sharing the database share one exact count."""

    key = models.CharField(max_length=200, primary_key=True)
    count = models.IntegerField()
    # POSIX seconds: when the window ends (rows past it are swept), and the latest attempt.
    expires = models.FloatField(db_index=True)
    latest = models.FloatField()

    def __str__(self) -> str:
        return f"{self.key}: {self.count}"
