"""The desk's one rate limiter (charterdesk/core/ratelimit.py)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from charterdesk.core.ratelimit import Limit

T0 = 1_800_000_000.0  # a whole hour in POSIX seconds (1_800_000_000 / 3600 = 500_000)


def _at_once(count: int, attempt) -> list:
    """``attempt()`` in ``count`` threads released together by a barrier (no time-out: a loaded
    machine only makes it slower); every answer, after asserting none raised."""
    start = threading.Barrier(count)
    answers: list = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            start.wait()
            answers.append(attempt())
        except BaseException as error:  # pragma: no cover - shown by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    return answers


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
    answers = _at_once(16, lambda: limit.take("203.0.113.9", T0).allowed)
    assert sorted(answers) == [False] * 11 + [True] * 5
    assert limit.usage("203.0.113.9", T0).used == 16


@pytest.mark.django_db
def test_a_key_is_claimed_once_until_handed_back():
    """A form's idempotency key wins once; handed back (nothing was sent) it wins again; another
    key is its own."""
    from charterdesk.core.ratelimit import Once

    once = Once("test-form", 3600)
    assert [once.claim("7:abc", T0), once.claim("7:abc", T0 + 1)] == [True, False]
    once.release("7:abc")
    assert once.claim("7:abc", T0 + 2) and once.claim("7:other", T0 + 2)


def test_sixteen_resubmissions_at_once_claim_a_key_exactly_once(transactional_db):
    """Sixteen threads, released together by a barrier, claim the same idempotency key: exactly
    one wins, on SQLite and on PostgreSQL alike (the claim is one atomic upsert)."""
    from charterdesk.core.ratelimit import Once

    once = Once("tickets.reply-sent", 24 * 3600)
    answers = _at_once(16, lambda: once.claim("7:same-form", T0))
    assert sorted(answers) == [False] * 15 + [True]
