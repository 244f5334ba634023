import logging
import signal

from django.core.management.base import BaseCommand, CommandError

from charterdesk.worker.loop import Worker, new_worker_id


def positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < 86400:
        raise CommandError(f"--interval: '{text}' is not a number of seconds between 0 and 86400")
    return value


class Command(BaseCommand):
    help = (
        "Run background work: the task queue (replies by email, ...) and the scheduler "
        "(SLA deadlines and escalations, follow-ups, auto-close). Several may run at once. "
        "--once: one scheduler tick, then every ready task, then exit (for cron)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--interval",
            default="5",
            help="seconds between scheduler ticks (default 5)",
        )
        parser.add_argument("--once", action="store_true", help="one tick, drain the queue, exit")
        parser.add_argument(
            "--worker-id",
            default="",
            help="a name for this worker in logs and leases (default host:pid:random)",
        )

    def handle(self, *args, interval, once, worker_id, verbosity, **options):
        worker = Worker(interval=positive_seconds(interval), worker_id=worker_id or new_worker_id())
        logger = logging.getLogger("charterdesk.worker")
        if verbosity == 0:
            logger.setLevel(logging.WARNING)
        elif verbosity > 1:
            logger.setLevel(logging.DEBUG)

        def on_signal(signum, frame):
            name = signal.strsignal(signum) or str(signum)
            if worker.stopping:
                logger.warning("%s again: stopping now", name)
                raise SystemExit(1)
            logger.warning("%s: finishing the current piece of work, then stopping (again to stop now)", name)
            worker.stop()

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            if once:
                report, tasks = worker.run_once()
                if verbosity:
                    self.stdout.write(f"worker --once: {report}; {tasks} task(s) run")
            else:
                worker.run()
        finally:
            for sig, handler in previous.items():
                if handler is not None:
                    signal.signal(sig, handler)
