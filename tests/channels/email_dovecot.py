"""A real IMAP server for the tests and the benchmark: Debian's dovecot on loopback, in a temporary folder.

``Dovecot(users)`` writes a minimal dovecot.conf (passwd-file users, maildir under the folder,
plain IMAP on 127.0.0.1 and a free port), starts ``dovecot -F -c CONF`` as a child process and stops it
again. Messages are delivered with IMAP APPEND (or written straight into the maildir by ``deliver_files``,
which is much faster for thousands of messages).
"""

from __future__ import annotations

import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def dovecot_path() -> str | None:
    return shutil.which("dovecot") or ("/usr/sbin/dovecot" if os.path.exists("/usr/sbin/dovecot") else None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Dovecot:
    """One dovecot instance. Use as a context manager."""

    def __init__(self, users: dict[str, str]):
        # Its own folder under /tmp: dovecot's unprivileged processes must be able to reach it, and
        # pytest's temporary folders are private to their owner.
        self.folder = Path(tempfile.mkdtemp(prefix="charterdesk-dovecot-"))
        self.users = users
        self.port = _free_port()
        self.process: subprocess.Popen | None = None
        if os.getuid() == 0:
            # dovecot refuses to run its login and mail processes as root: use its own system users.
            mail_user = pwd.getpwnam("dovecot")
            self.uid, self.gid = mail_user.pw_uid, mail_user.pw_gid
            self.internal, self.login = "dovecot", "dovenull"
        else:
            self.uid, self.gid = os.getuid(), os.getgid()
            name = pwd.getpwuid(self.uid).pw_name
            self.internal = self.login = name

    def home(self, user: str) -> Path:
        return self.folder / "home" / user

    def maildir(self, user: str) -> Path:
        return self.home(user) / "Maildir"

    def _write_config(self) -> Path:
        for sub in ("run", "state", "home"):
            (self.folder / sub).mkdir(parents=True, exist_ok=True)
        os.chmod(self.folder, 0o755)
        lines = []
        for user, password in self.users.items():
            home = self.home(user)
            for sub in ("cur", "new", "tmp"):
                (home / "Maildir" / sub).mkdir(parents=True, exist_ok=True)
            lines.append(f"{user}:{{PLAIN}}{password}:{self.uid}:{self.gid}::{home}")
            self._chown(home)
        (self.folder / "passwd").write_text("\n".join(lines) + "\n")
        conf = self.folder / "dovecot.conf"
        conf.write_text(
            f"""base_dir = {self.folder}/run
state_dir = {self.folder}/state
log_path = {self.folder}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {self.internal}
default_login_user = {self.login}
first_valid_uid = {min(self.uid, 100) if self.uid else 0}
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.folder}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {self.folder}/passwd
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""
        )
        return conf

    def _chown(self, path: Path) -> None:
        if os.getuid() != 0:
            return
        for root, _dirs, files in os.walk(path):
            os.chown(root, self.uid, self.gid)
            for name in files:
                os.chown(os.path.join(root, name), self.uid, self.gid)

    def start(self) -> Dovecot:
        conf = self._write_config()
        self.process = subprocess.Popen(
            [dovecot_path() or "dovecot", "-F", "-c", str(conf)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 300  # only a server that never starts waits this long
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"dovecot exited: {self.process.stdout.read().decode()} {self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    if s.recv(100).startswith(b"* OK"):
                        return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"dovecot did not start listening: {self.log()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process is not None and self.process.stdout:
            self.process.stdout.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def log(self) -> str:
        path = self.folder / "dovecot.log"
        return path.read_text()[-2000:] if path.exists() else ""

    def __enter__(self) -> Dovecot:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def client(self, user: str) -> imaplib.IMAP4:
        conn = imaplib.IMAP4("127.0.0.1", self.port, timeout=30)
        conn.login(user, self.users[user])
        return conn

    def append(self, user: str, raws: list[bytes]) -> None:
        conn = self.client(user)
        try:
            for raw in raws:
                typ, data = conn.append("INBOX", None, None, raw)
                assert typ == "OK", data
        finally:
            conn.logout()

    def deliver_files(self, user: str, raws: list[bytes]) -> None:
        """Write messages straight into the user's maildir (new/), as a local delivery agent would."""
        new = self.maildir(user) / "new"
        stamp = int(time.time())
        for n, raw in enumerate(raws):
            (new / f"{stamp}.M{n}P{os.getpid()}.charterdesk").write_bytes(raw.replace(b"\r\n", b"\n"))
        self._chown(self.maildir(user))

    def flags(self, user: str) -> dict[int, bytes]:
        """UID -> FLAGS of every message in the user's INBOX."""
        conn = self.client(user)
        try:
            conn.select("INBOX", readonly=True)
            _typ, data = conn.uid("FETCH", "1:*", "(UID FLAGS)")
            found = {}
            for line in data:
                if not line:
                    continue
                text = line if isinstance(line, bytes) else line[0]
                parts = text.split(b"UID ")[1].split(b" ", 1)
                found[int(parts[0])] = parts[1]
            return found
        finally:
            conn.logout()
