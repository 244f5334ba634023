"""Benchmark the desk's pages and API at scale, on SQLite and PostgreSQL, beside django-helpdesk.

    python bench/bench_desk.py                                  # 100,000 tickets, both databases, peer
    python bench/bench_desk.py --tickets 5000 --requests 20 --db sqlite --skip-peer   # a quick look

For each database it fills a fresh desk with `charterdesk demo --load-only --tickets N`, serves it
with `charterdesk serve` (gunicorn, one worker) on a free loopback port, signs in as the demo
agent (a session cookie from the sign-in form, and an API token from `charterdesk token create`),
and times N sequential requests per endpoint with http.client, varying the ticket and the words:

- queue: the default queue page, ``GET /tickets/``
- ticket: a ticket page, ``GET /tickets/<id>/``
- api list: the API ticket list, ``GET /api/v1/tickets/``
- search: the queue searched for a customer's name or a word of the conversations, ``GET /tickets/?q=``

It prints median and p95 per endpoint against the targets (p95 under 150 ms for pages and the
list, under 300 ms for search) and the SQL queries one request makes (counted in a child
process with Django's test client and ``CaptureQueriesContext`` against the same database),
with the slowest query of any endpoint that misses its target. Then it does the same for
django-helpdesk 2.6.1 (../shared/peers/django-helpdesk, set up by its setup.sh in ``$PEER``) at
the same size (N tickets, each with its description and messages-per-ticket - 1 follow-ups) and
prints the ratios peer / ours. PostgreSQL runs against a database of its own that the script
creates and drops (``--pg-url`` names the server). Nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KIT = Path(os.environ.get("PEER_KIT", ROOT.parent / "shared/peers/django-helpdesk"))
PEER = Path(os.environ.get("PEER", Path.home() / ".cache/charterdesk-peers/django-helpdesk"))
AGENT = ("alex@acme.example", "demo-agent-1")
TARGETS = {"queue": 150.0, "ticket": 150.0, "api list": 150.0, "search": 300.0}
ENDPOINTS = list(TARGETS)
TOPIC_WORDS = ["tent", "refund", "tracking", "warranty", "boots", "damaged", "sync", "backpack", "return"]


# --------------------------------------------------------------------------- small helpers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def say(text: str = "") -> None:
    print(text, flush=True)


def load_average() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (5 min {five:.1f}) on {os.cpu_count()} CPUs"


class Http:
    """Sequential requests to one server, keeping cookies; each timed from send to last byte."""

    def __init__(self, port: int, headers: dict | None = None) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}
        self.headers = headers or {}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=900)

    def request(self, method: str, path: str, body: str | None = None, headers: dict | None = None):
        sent = dict(self.headers, **(headers or {}))
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        start = time.perf_counter()
        try:
            self.conn.request(method, path, body=body, headers=sent)
            response = self.conn.getresponse()
            data = response.read()
        except (http.client.HTTPException, OSError):
            # The server closed a kept-alive connection: once more on a new one.
            self.conn.close()
            start = time.perf_counter()
            self.conn.request(method, path, body=body, headers=sent)
            response = self.conn.getresponse()
            data = response.read()
        elapsed = (time.perf_counter() - start) * 1000
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        if response.will_close:
            self.conn.close()
        return response.status, data, elapsed

    def get(self, path: str, headers: dict | None = None):
        return self.request("GET", path, headers=headers)

    def post_form(self, path: str, fields: dict, headers: dict | None = None):
        body = urllib.parse.urlencode(fields)
        extra = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
        return self.request("POST", path, body=body, headers=extra)


def wait_until_up(port: int, path: str, process: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server on port {port} stopped (exit {process.returncode})")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("GET", path)
            conn.getresponse().read()
            conn.close()
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"the server on port {port} did not answer within {seconds:.0f} s")


def stop(process: subprocess.Popen | None) -> None:
    """Stop a server started here (its own process group: gunicorn's master and worker)."""
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def time_endpoint(http_: Http, paths: list[str], count: int, headers: dict | None = None, budget: float = 0):
    """Warm up, then ``count`` sequential requests cycling through ``paths``; latencies in ms.

    With ``budget`` (seconds), stop early once it is spent (at least 3 requests): for pages
    that take many seconds each."""
    for path in paths[:2]:
        status, body, _ = http_.get(path, headers)
        if status != 200:
            raise SystemExit(f"GET {path} answered {status}: {body[:300]!r}")
    times: list[float] = []
    started = time.monotonic()
    for n in range(count):
        path = paths[n % len(paths)]
        status, body, elapsed = http_.get(path, headers)
        if status != 200:
            raise SystemExit(f"GET {path} answered {status}: {body[:300]!r}")
        times.append(elapsed)
        if budget and len(times) >= 3 and time.monotonic() - started > budget:
            break
    return times


def summary(times: list[float]) -> dict:
    return {
        "n": len(times),
        "median_ms": round(statistics.median(times), 1),
        "p95_ms": round(percentile(times, 0.95), 1),
    }


# --------------------------------------------------------------------------- Charterdesk


PROBE = textwrap.dedent(
    """
    # Runs in a child process against the benchmark's database: sample ids and words, and the
    # SQL queries each endpoint makes (Django's test client, CaptureQueriesContext).
    import json, os, random, sys
    import django
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "charterdesk.desk.settings")
    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from charterdesk.accounts.models import Person
    from charterdesk.tickets.models import Customer, Ticket

    args = json.loads(sys.argv[1])
    rng = random.Random(7)
    if args["mode"] == "sample":
        top = Ticket.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        ids = sorted(set(rng.randint(1, top) for _ in range(3000)))
        ids = list(Ticket.objects.filter(pk__in=ids).values_list("pk", flat=True))[:1000]
        rng.shuffle(ids)
        names = [n.split()[-1] for n in Customer.objects.order_by("?").values_list("name", flat=True)[:200]]
        print(json.dumps({"ids": ids, "names": names, "tickets": Ticket.objects.count()}))
        raise SystemExit
    client = Client()
    client.force_login(Person.objects.get(email=args["email"]))
    result = {}
    for name, path, headers in args["endpoints"]:
        response = client.get(path, **headers)
        assert response.status_code == 200, (path, response.status_code, response.content[:300])
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path, **headers)
        slowest = sorted(queries.captured_queries, key=lambda q: -float(q["time"]))[:2]
        result[name] = {
            "queries": len(queries.captured_queries),
            "sql_ms": round(sum(float(q["time"]) for q in queries.captured_queries) * 1000, 1),
            "slowest": [
                {"ms": round(float(q["time"]) * 1e3, 1), "sql": q["sql"][q["sql"].find(" FROM ") + 1 :][:600]}
                for q in slowest
            ],
        }
    print(json.dumps(result))
    """
)


class Desk:
    """One fresh Charterdesk database, loaded, served and measured."""

    def __init__(self, args, db: str, work: Path) -> None:
        self.args = args
        self.db = db
        self.work = work / f"desk-{db}"
        self.work.mkdir(parents=True, exist_ok=True)
        self.pg_name = f"charterdesk_bench_{os.getpid()}"
        self.env = dict(
            os.environ,
            CHARTERDESK_DATA_DIR=str(self.work),
            ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
            # Latency, not the rate limiter, is measured here.
            CHARTERDESK_API_RATE="1000000/minute",
            DJANGO_SETTINGS_MODULE="charterdesk.desk.settings",
            PYTHONWARNINGS="ignore",
        )
        self.env.pop("DATABASE_URL", None)
        if db == "postgres":
            self.env["DATABASE_URL"] = f"{args.pg_url.rstrip('/')}/{self.pg_name}"
        self.server: subprocess.Popen | None = None

    def charterdesk(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "charterdesk", *argv],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=check,
        )

    def _pg(self, sql: str, database: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(f"{self.args.pg_url.rstrip('/')}/{database}", autocommit=True) as conn:
            conn.execute(sql)

    def create(self) -> None:
        if self.db == "postgres":
            self._pg(f'DROP DATABASE IF EXISTS "{self.pg_name}"')
            self._pg(f'CREATE DATABASE "{self.pg_name}"')

    def drop(self) -> None:
        stop(self.server)
        if self.db == "postgres":
            self._pg(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')

    def load(self) -> dict:
        started = time.perf_counter()
        done = self.charterdesk(
            "demo",
            "--load-only",
            "--tickets",
            str(self.args.tickets),
            "--messages-per-ticket",
            str(self.args.messages_per_ticket),
            check=False,
        )
        if done.returncode:
            raise SystemExit(f"charterdesk demo failed:\n{done.stdout}\n{done.stderr}")
        line = next((x for x in done.stdout.splitlines() if "Demo tickets loaded" in x), "")
        found = re.search(r"([\d,]+) messages.*?([\d,.]+) tickets/s", line)
        messages = int(found.group(1).replace(",", "")) if found else 0
        rate = float(found.group(2).replace(",", "")) if found else 0.0
        if self.db == "postgres":
            self._pg("ANALYZE", self.pg_name)  # as autovacuum would soon after a bulk load
        return {"line": line, "messages": messages, "rate": rate, "seconds": time.perf_counter() - started}

    def probe(self, payload: dict) -> dict:
        done = subprocess.run(
            [sys.executable, "-c", PROBE, json.dumps(payload)],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        if done.returncode:
            raise SystemExit(f"probe failed:\n{done.stderr[-3000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])

    def serve(self) -> int:
        port = free_port()
        self.server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "charterdesk",
                "serve",
                *("--host", "127.0.0.1", "--port", str(port)),
                "--workers",
                "1",
            ],
            env=self.env,
            cwd=ROOT,
            stdout=open(self.work / "server.log", "w"),  # noqa: SIM115 - closed with the process
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until_up(port, "/sign-in/", self.server)
        return port

    @staticmethod
    def api_list_path(port: int, bearer: dict) -> str:
        """The API's ticket list, with or without the trailing slash, whichever the API answers."""
        for path in ("/api/v1/tickets", "/api/v1/tickets/"):
            status, _, _ = Http(port).get(path, bearer)
            if status != 404:
                return path
        return "/api/v1/tickets"

    def measure(self) -> dict:
        args = self.args
        self.create()
        say(f"-- Charterdesk on {self.db}: loading {args.tickets:,} tickets ... ({load_average()})")
        loaded = self.load()
        say(f"   {loaded['line'].strip()}")
        token = self.charterdesk("token", "create", "--user", AGENT[0], "--name", "benchmark").stdout.strip()
        sample = self.probe({"mode": "sample"})
        rng = random.Random(11)
        ids = sample["ids"] or [1]
        words = sample["names"][:40] + TOPIC_WORDS
        rng.shuffle(words)
        paths = {
            "queue": ["/tickets/"],
            "ticket": [f"/tickets/{i}/" for i in ids],
            "api list": [],  # known once the server answers
            "search": [f"/tickets/?q={urllib.parse.quote(w)}" for w in words],
        }
        bearer = {"Authorization": f"Bearer {token}"}
        port = self.serve()
        paths["api list"] = [self.api_list_path(port, bearer)]
        session = Http(port)
        session.get("/sign-in/")
        status, page, _ = session.get("/sign-in/")
        csrf = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        status, _, _ = session.post_form(
            "/sign-in/",
            {
                "email": AGENT[0],
                "password": AGENT[1],
                "csrfmiddlewaretoken": csrf.group(1).decode() if csrf else "",
            },
            headers={"Referer": f"http://127.0.0.1:{port}/sign-in/"},
        )
        if status not in (302, 303) or "sessionid" not in session.cookies:
            raise SystemExit(f"signing in as {AGENT[0]} failed ({status})")
        results = {}
        for name in ENDPOINTS:
            client = Http(port) if name == "api list" else session
            times = time_endpoint(client, paths[name], args.requests, bearer if name == "api list" else None)
            results[name] = summary(times)
            r = results[name]
            say(f"   {name:<9} median {r['median_ms']:>8.1f} ms   p95 {r['p95_ms']:>8.1f} ms")
        stop(self.server)
        self.server = None
        counted = self.probe(
            {
                "mode": "queries",
                "email": AGENT[0],
                "endpoints": [
                    ["queue", paths["queue"][0], {}],
                    ["ticket", paths["ticket"][0], {}],
                    ["api list", paths["api list"][0], {"HTTP_AUTHORIZATION": f"Bearer {token}"}],
                    ["search", paths["search"][0], {}],
                ],
            }
        )
        for name in ENDPOINTS:
            results[name].update(counted[name])
        return {
            "db": self.db,
            "tickets": sample["tickets"],
            "messages": loaded["messages"],
            "load_rate": loaded["rate"],
            "load_seconds": round(loaded["seconds"], 1),
            "endpoints": results,
        }


# --------------------------------------------------------------------------- the peer


PEER_SEED = textwrap.dedent(
    """
    # Runs with the peer's Python in its site folder: N tickets, each with its description and
    # F follow-ups, in bulk (the peer's own seed.py saves row by row: hours at this size).
    import datetime, json, os, random, sys, time
    sys.path.insert(0, os.getcwd())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peersite.settings")
    import django
    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.utils import timezone
    from helpdesk.models import FollowUp, Queue, Ticket

    n, follow_ups = int(sys.argv[1]), int(sys.argv[2])
    rng = random.Random(42)
    User = get_user_model()
    agents = []
    for i in range(10):
        u, _ = User.objects.get_or_create(
            username=f"agent{i}",
            defaults=dict(email=f"agent{i}@example.com", is_staff=True, first_name=f"Agent{i}"),
        )
        u.set_password("agent-pass-123")
        u.save()
        agents.append(u)
    queues = []
    for slug, title, esc in [("support", "Support", 2), ("billing", "Billing", 3), ("tech", "Technical", 1),
                             ("sales", "Sales", None), ("vip", "VIP", 5)]:
        q, _ = Queue.objects.get_or_create(
            slug=slug, defaults=dict(title=title, escalate_days=esc, email_address=f"{slug}@example.com"))
        queues.append(q)
    names = ("Olivia Smith,Liam Johnson,Emma Garcia,Noah Tanaka,Mia Okafor,Lucas Jensen,Ana Silva,Kenji Sato,"
             "Priya Patel,Lars Berg,Zofia Nowak,Omar Shah,Greta Weber,Diego Rossi,Leila Chen").split(",")
    products = ["tent", "backpack", "boots", "jacket", "stove", "sleeping bag", "headlamp", "poles"]
    topics = ["Where is my order", "arrived damaged", "Refund for", "Warranty claim for", "How do I return",
              "The app will not sync with my"]
    statuses = [1] * 4 + [2] + [3] + [4] * 4
    now = timezone.now()
    started = time.perf_counter()
    made = 0
    while made < n:
        size = min(2000, n - made)
        with transaction.atomic():
            tickets = []
            for i in range(size):
                who = rng.choice(names)
                product = rng.choice(products)
                tickets.append(Ticket(
                    title=f"{rng.choice(topics)} {product} (order A{rng.randint(10000, 99999)})",
                    queue=rng.choice(queues),
                    submitter_email=who.lower().replace(" ", ".") + f"{made + i}@example.org",
                    assigned_to=rng.choice(agents) if rng.random() < 0.7 else None,
                    status=rng.choice(statuses),
                    priority=rng.randint(1, 5),
                    description=f"Hello, this is {who}. My {product} has a problem. " * 4,
                ))
            Ticket.objects.bulk_create(tickets)
            FollowUp.objects.bulk_create([
                FollowUp(
                    ticket=t,
                    title=["Comment", "Reply", "Internal note"][k % 3],
                    comment=f"Follow-up {k} about the {rng.choice(products)} on ticket {t.id}. " * 5,
                    public=(k % 3 != 2),
                    user=rng.choice(agents),
                    date=now,
                )
                for t in tickets for k in range(follow_ups)
            ])
        made += size
    with connection.cursor() as c:
        c.execute("UPDATE helpdesk_ticket SET created = datetime('now', "
                  "'-' || (abs(random()) % 90) || ' days', '-' || (abs(random()) % 86400) || ' seconds')")
        c.execute("UPDATE helpdesk_ticket SET modified = created")
    ids = list(Ticket.objects.values_list("id", flat=True))
    rng.shuffle(ids)
    print(json.dumps({"tickets": Ticket.objects.count(), "follow_ups": FollowUp.objects.count(),
                      "seconds": round(time.perf_counter() - started, 1), "ids": ids[:1000],
                      "names": [x.split()[-1] for x in names]}))
    """
)

PEER_PROBE = textwrap.dedent(
    """
    # SQL statements per request in the peer (an execute wrapper: CaptureQueriesContext keeps
    # at most 9,000, and the peer's API list makes more).
    import json, os, sys
    sys.path.insert(0, os.getcwd())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peersite.settings")
    import django
    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client

    class Counter:
        n = 0
        def __call__(self, execute, sql, params, many, context):
            self.n += 1
            return execute(sql, params, many, context)

    client = Client()
    client.force_login(get_user_model().objects.get(username="agent0"))
    result = {}
    for name, path in json.loads(sys.argv[1]):
        counter = Counter()
        with connection.execute_wrapper(counter):
            response = client.get(path)
        result[name] = counter.n
    print(json.dumps(result))
    """
)

DT_QUERY = "?draw=1&start=0&length=25&order%5B0%5D%5Bcolumn%5D=5&order%5B0%5D%5Bdir%5D=asc&search%5Bvalue%5D="


class Peer:
    """django-helpdesk 2.6.1 at the same size, on SQLite (its set-up supports only SQLite)."""

    def __init__(self, args, work: Path) -> None:
        self.args = args
        self.work = work / "peer"
        self.work.mkdir(parents=True, exist_ok=True)
        self.python = PEER / "venv/bin/python"
        self.site = PEER / "site"
        self.env = dict(
            os.environ, PEER=str(PEER), PEER_DB=str(self.work / "peer.sqlite3"), PYTHONWARNINGS="ignore"
        )
        self.env.pop("DJANGO_SETTINGS_MODULE", None)
        self.server: subprocess.Popen | None = None

    def run(self, *argv: str) -> str:
        done = subprocess.run(
            [str(self.python), *argv], cwd=self.site, env=self.env, capture_output=True, text=True
        )
        if done.returncode:
            raise SystemExit(f"peer step {argv[:2]} failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
        return done.stdout

    def ensure_installed(self) -> None:
        if not (self.python.exists() and (self.site / "manage.py").exists()):
            say(f"-- setting the peer up in {PEER} (bash {KIT / 'setup.sh'}) ...")
            subprocess.run(["bash", str(KIT / "setup.sh")], env=self.env, check=True, capture_output=True)

    def measure(self) -> dict:
        args = self.args
        self.ensure_installed()
        follow_ups = max(0, round(args.messages_per_ticket) - 1)
        say(f"-- django-helpdesk on sqlite: seeding {args.tickets:,} tickets x {follow_ups} follow-ups ...")
        self.run("manage.py", "migrate", "--noinput", "-v", "0")
        seeded = json.loads(
            self.run("-c", PEER_SEED, str(args.tickets), str(follow_ups)).strip().splitlines()[-1]
        )
        say(f"   {seeded['tickets']:,} tickets, {seeded['follow_ups']:,} follow-ups in {seeded['seconds']} s")
        port = free_port()
        gunicorn = PEER / "venv/bin/gunicorn"
        self.server = subprocess.Popen(
            [
                str(gunicorn),
                "peersite.wsgi:application",
                *("--chdir", str(self.site), "--bind", f"127.0.0.1:{port}"),
                *("--workers", "1", "--threads", "1", "--timeout", "900"),
            ],
            cwd=self.site,
            env=self.env,
            stdout=open(self.work / "server.log", "w"),  # noqa: SIM115 - closed with the process
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_until_up(port, "/login/", self.server)
            session = Http(port)
            session.get("/login/")
            status, page, _ = session.get("/login/")
            csrf = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
            status, _, _ = session.post_form(
                "/login/",
                {
                    "username": "agent0",
                    "password": "agent-pass-123",
                    "csrfmiddlewaretoken": csrf.group(1).decode() if csrf else "",
                    "next": "/tickets/",
                },
                headers={"Referer": f"http://127.0.0.1:{port}/login/"},
            )
            if status not in (302, 303):
                raise SystemExit(f"signing in to the peer failed ({status})")
            status, page, _ = session.get("/tickets/")
            found = re.search(rb"datatables_ticket_list/([A-Za-z0-9+/=]+)", page)
            if not found:
                raise SystemExit("the peer's ticket list page has no datatables URL")
            listing = f"/datatables_ticket_list/{found.group(1).decode()}{DT_QUERY}"
            words = seeded["names"] + ["tent", "refund", "boots", "warranty"]
            paths = {
                "queue": [listing],
                "ticket": [f"/tickets/{i}/" for i in seeded["ids"]],
                "api list": ["/api/tickets/"],
                "search": [listing + urllib.parse.quote(w) for w in words],
            }
            results = {}
            for name in ENDPOINTS:
                budget = args.peer_budget if name == "api list" else 0
                times = time_endpoint(session, paths[name], args.requests, budget=budget)
                results[name] = summary(times)
                say(
                    f"   {name:<9} median {results[name]['median_ms']:>8.1f} ms   "
                    f"p95 {results[name]['p95_ms']:>8.1f} ms   (n={len(times)})"
                )
        finally:
            stop(self.server)
            self.server = None
        counted = json.loads(
            self.run("-c", PEER_PROBE, json.dumps([[n, p[0]] for n, p in paths.items()]))
            .strip()
            .splitlines()[-1]
        )
        for name in ENDPOINTS:
            results[name]["queries"] = counted[name]
        return {
            "db": "sqlite",
            "tickets": seeded["tickets"],
            "messages": seeded["tickets"] + seeded["follow_ups"],
            "paths": {"queue": "ticket list JSON (first page)", "api list": "/api/tickets/ (every ticket)"},
            "endpoints": results,
        }


# --------------------------------------------------------------------------- report


def table(title: str, run: dict, with_targets: bool = True) -> None:
    say()
    say(f"== {title}: {run['tickets']:,} tickets, {run['messages']:,} messages")
    head = f"{'endpoint':<10} {'median ms':>10} {'p95 ms':>10} {'n':>5} {'SQL/request':>12}"
    if with_targets:
        head += f" {'target p95':>11}  met"
    say(head)
    for name in ENDPOINTS:
        r = run["endpoints"][name]
        line = f"{name:<10} {r['median_ms']:>10.1f} {r['p95_ms']:>10.1f} {r['n']:>5} {r['queries']:>12}"
        if with_targets:
            target = TARGETS[name]
            line += f" {'< ' + format(target, '.0f') + ' ms':>11}  {'yes' if r['p95_ms'] < target else 'NO'}"
        say(line)
    if with_targets:
        for name in ENDPOINTS:
            r = run["endpoints"][name]
            if r["p95_ms"] >= TARGETS[name] and r.get("slowest"):
                q = r["slowest"][0]
                say(
                    f"   {name} missed: SQL took {r['sql_ms']} ms of one request in the probe; "
                    f"the slowest query ({q['ms']} ms): SELECT ... {q['sql']}"
                )


def ratios(peer: dict, ours: dict) -> None:
    say()
    say(f"== peer / Charterdesk on {ours['db']} (how many times slower django-helpdesk is)")
    say(f"{'endpoint':<10} {'median':>8} {'p95':>8}")
    for name in ENDPOINTS:
        p, o = peer["endpoints"][name], ours["endpoints"][name]
        say(f"{name:<10} {p['median_ms'] / o['median_ms']:>7.1f}x {p['p95_ms'] / o['p95_ms']:>7.1f}x")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--messages-per-ticket", type=float, default=5.0)
    parser.add_argument("--requests", type=int, default=50, help="timed requests per endpoint")
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--skip-peer", action="store_true", help="do not measure django-helpdesk")
    parser.add_argument(
        "--peer-budget",
        type=float,
        default=120,
        help="seconds for the peer's API list (it loads every ticket)",
    )
    parser.add_argument(
        "--pg-url", default=os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
    )
    parser.add_argument("--json-out", help="also write the figures as JSON here")
    parser.add_argument(
        "--keep", action="store_true", help="keep the scratch folder (databases, server logs)"
    )
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="charterdesk-bench-"))
    say(
        f"Charterdesk desk benchmark: {args.tickets:,} tickets, ~{args.messages_per_ticket:g} messages each, "
    )
    say(f"{args.requests} requests per endpoint, one gunicorn worker each; {load_average()}; scratch {work}")
    runs: list[dict] = []
    peer_run = None
    try:
        for db in ["sqlite", "postgres"] if args.db == "both" else [args.db]:
            desk = Desk(args, db, work)
            try:
                runs.append(desk.measure())
            finally:
                desk.drop()
        if not args.skip_peer:
            peer_run = Peer(args, work).measure()
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    for run in runs:
        table(f"Charterdesk on {run['db']} (demo load {load_verdict(run)})", run)
    if peer_run:
        table("django-helpdesk 2.6.1 on sqlite (queue = its ticket list JSON)", peer_run, with_targets=False)
        for run in runs:
            ratios(peer_run, run)
    say()
    say(f"({load_average()} at the end)")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({"ours": runs, "peer": peer_run}, indent=2))
    return 0


LOAD_TARGET = 5000  # tickets a second that `charterdesk demo --tickets N` loads on SQLite


def load_verdict(run: dict) -> str:
    """The demo load's rate, against its target on SQLite."""
    rate = f"{run['load_rate']:,.0f} tickets/s"
    if run["db"] != "sqlite":
        return rate
    return f"{rate}, target >= {LOAD_TARGET:,}: {'met' if run['load_rate'] >= LOAD_TARGET else 'NOT met'}"


if __name__ == "__main__":
    sys.exit(main())
