"""The desk's one rate limiter (charterdesk/core/ratelimit.py)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from charterdesk.core.ratelimit import Limit

T0 = 1_800_000_000.0  # a whole hour in POSIX seconds (1_800_000_000 / 3600 = 500_000)


@pytest.mark.django_db
def test_a_limit_lets_exactly_its_count_through_per_window():
    """Three an hour: the 1st to 3rd attempts pass, the 4th is refused until the next hour, which
    starts from nothing; another key has its own count."""
    limit = Limit("test", 3)
    answers = [limit.take("203.0.113.9", T0 + n) for n in range(4)]
    assert [a.allowed for a in answers] == [True, True, True, False]
    assert [a.used for a in answers] == [1, 2, 3, 4]
    assert [a.remaining for a in answers] == [2, 1, 0, 0]
    assert answers[3].retry_after == 3600 - 3
    assert limit.take("198.51.100.1", T0).allowed
    assert limit.take("203.0.113.9", T0 + 3600).used == 1


@pytest.mark.django_db
def test_an_attempt_given_back_does_not_count():
    """An attempt that turned out not to count (the form was invalid) frees its place."""
    limit = Limit("test", 2)
    limit.take("jo@example.com", T0)
    limit.take("jo@example.com", T0)
    limit.give_back("jo@example.com", T0)
    assert limit.usage("jo@example.com", T0).used == 1
    assert limit.take("jo@example.com", T0).allowed


@pytest.mark.django_db
def test_keys_are_stored_hashed_and_old_windows_are_swept():
    """The counter table never holds an address in the clear, and a new window sweeps the rows
    of windows that are over."""
    from charterdesk.core.models import RateCounter

    limit = Limit("test", 5, 60)
    limit.take("jo@example.com", T0)
    assert "jo@example.com" not in RateCounter.objects.get().key
    limit.take("jo@example.com", T0 + 120)
    assert RateCounter.objects.count() == 1


def test_sixteen_requests_at_once_never_pass_a_limit_of_five(transactional_db):
    """Sixteen threads, released together by a barrier, each take one attempt against a limit of
    five: exactly five are allowed, on SQLite and on PostgreSQL alike (one atomic upsert each)."""
    limit = Limit("tickets-per-ip", 5)
    start = threading.Barrier(16)
    answers: list[bool] = []
    errors: list[BaseException] = []

    def request() -> None:
        try:
            start.wait()
            answers.append(limit.take("203.0.113.9", T0).allowed)
        except BaseException as error:  # pragma: no cover - shown by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=request) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sorted(answers) == [False] * 11 + [True] * 5
    assert limit.usage("203.0.113.9", T0).used == 16
