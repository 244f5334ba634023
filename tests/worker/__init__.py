"""Tests of `charterdesk worker`: deadlines, escalations once across workers, periodic jobs, mail retries."""
