"""`charterdesk worker`: the one background process of the desk.

It runs the task queue (mail to send, ...) and the scheduler's tick: tickets whose SLA deadline has
come (``tickets.jobs.check_deadline``) and the periodic jobs every app offers through the
``periodic_jobs`` hook (tickets: follow-ups, auto-close, pruning; channels: the IMAP poll, waiting
mail). It stands on the faces' floor beside the command line: it imports tickets, and knows the
families only through the hook.
"""
