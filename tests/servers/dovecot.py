"""A throwaway Dovecot IMAP server (Debian's dovecot-imapd) for the tests and the benchmarks.

Private configuration, state and mail in one folder; listens only on 127.0.0.1, on two free
ports: plain IMAP (STARTTLS offered there too) and IMAPS. Its certificate is made at start
with the openssl CLI for 127.0.0.1 and localhost, so clients verify it against ``cafile``.
The system's /etc/dovecot is never read (``-c`` names our file) and nothing else listens.

    server = Dovecot(folder)          # the folder must be traversable by Dovecot's users
    server.start()
    server.add_user("support@portal.test", "secret")
    server.append("support@portal.test", raw_bytes)
    ...
    server.stop()

The helpers speak IMAP with plain imaplib, not with the code under test.
"""

from __future__ import annotations

import imaplib
import pwd
import shutil
import socket
import subprocess
import time
from pathlib import Path

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"  # /usr/sbin is not on every PATH
OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"
HOST = "127.0.0.1"

CONFIG = """\
base_dir = {dir}/run
state_dir = {dir}/state
log_path = {dir}/dovecot.log
protocols = imap
listen = {host}
ssl = yes
ssl_cert = <{dir}/tls/cert.pem
ssl_key = <{dir}/tls/key.pem
disable_plaintext_auth = no
auth_failure_delay = 0
first_valid_uid = 1
mail_fsync = never
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {dir}/users/%u
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={dir}/mail/%u
}}
mail_location = maildir:{dir}/mail/%u/Maildir
# No growing delays for an address after failed logins (the wrong-password test).
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service imap-login {{
  inet_listener imap {{
    address = {host}
    port = {port}
  }}
  inet_listener imaps {{
    address = {host}
    port = {ssl_port}
    ssl = yes
  }}
}}
"""


def installed() -> bool:
    return Path(DOVECOT).is_file()


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Dovecot:
    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.port = 0
        self.ssl_port = 0
        self.cafile = str(self.folder / "tls" / "cert.pem")
        self._passwords: dict[str, str] = {}
        self._process: subprocess.Popen | None = None

    # -- the server ------------------------------------------------------------------------------

    def start(self, timeout: float = 15) -> None:
        folder = self.folder
        # Dovecot's own users (dovecot, dovenull) read the users file and the certificate.
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o755)
        for sub in ("run", "state", "tls"):
            (folder / sub).mkdir(exist_ok=True)
        mail_user = pwd.getpwnam("dovenull")
        (folder / "mail").mkdir(mode=0o700, exist_ok=True)
        shutil.chown(folder / "mail", mail_user.pw_uid, mail_user.pw_gid)
        (folder / "users").mkdir(mode=0o755, exist_ok=True)
        self._make_certificate()
        self.port, self.ssl_port = free_port(), free_port()
        config = folder / "dovecot.conf"
        config.write_text(CONFIG.format(dir=folder, host=HOST, port=self.port, ssl_port=self.ssl_port,
                                        uid=mail_user.pw_uid, gid=mail_user.pw_gid))
        with open(folder / "stderr.log", "wb") as stderr:  # start-up errors, before log_path is open
            # -F: stays in the foreground, our child, so stop() can wait for it.
            self._process = subprocess.Popen([DOVECOT, "-F", "-c", str(config)],
                                             stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr)
        deadline = time.monotonic() + timeout
        for port in (self.port, self.ssl_port):
            while True:
                try:
                    socket.create_connection((HOST, port), timeout=0.5).close()
                    break
                except OSError:
                    if self._process.poll() is not None or time.monotonic() > deadline:
                        log = self.log()
                        self.stop()
                        raise RuntimeError(f"Dovecot did not start on {HOST}:{port}:\n{log}") from None
                    time.sleep(0.05)

    def stop(self, timeout: float = 15) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()  # the master stops its children, then exits
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def log(self) -> str:
        return "".join(p.read_text(errors="replace") for p in (self.folder / "stderr.log", self.folder / "dovecot.log")
                       if p.exists())

    def _make_certificate(self) -> None:
        tls = self.folder / "tls"
        subprocess.run(
            [OPENSSL, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-days", "30", "-subj", f"/CN={HOST}", "-keyout", str(tls / "key.pem"), "-out", str(tls / "cert.pem"),
             "-addext", f"subjectAltName=IP:{HOST},DNS:localhost",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,digitalSignature,keyCertSign",
             "-addext", "extendedKeyUsage=serverAuth"],
            check=True, capture_output=True,
        )
        (tls / "key.pem").chmod(0o600)  # read by the master, as root

    # -- users and their mail ----------------------------------------------------------------------

    def add_user(self, address: str, password: str) -> None:
        """A passwd-file of its own: Dovecot re-reads a changed file only once a second, but opens
        a new one at the user's first login, so the user can log in at once."""
        if any(c in address for c in ":/\n") or address.startswith(".") or any(c in password for c in ":\n"):
            raise ValueError("the address or password does not fit a passwd-file")
        self._passwords[address] = password
        path = self.folder / "users" / address
        path.write_text(f"{address}:{{PLAIN}}{password}\n")
        path.chmod(0o644)  # read by Dovecot's auth process, which is not root

    def append(self, user: str, raw: bytes, folder: str = "INBOX", flags: tuple[str, ...] = ()) -> None:
        """IMAP APPEND, as a mail server delivers (no flags: the message is unseen)."""
        with self._session(user) as imap:
            _ok(imap.append(_quoted(folder), f"({' '.join(flags)})" if flags else None, None, raw))

    def messages(self, user: str, folder: str = "INBOX") -> list[bytes]:
        """The raw messages of a folder, oldest first, without setting \\Seen."""
        return [raw for raw, _flags in self._fetch(user, folder)]

    def flags(self, user: str, folder: str = "INBOX") -> list[set[str]]:
        """Each message's flags, oldest first, e.g. [{"\\Seen"}, set()]."""
        return [flags for _raw, flags in self._fetch(user, folder)]

    def folders(self, user: str) -> list[str]:
        with self._session(user) as imap:
            listing = _ok(imap.list())
        # b'(\\HasNoChildren) "." INBOX' or ... "." "Two words"
        return sorted(line.decode().split(' "." ', 1)[1].strip('"') for line in listing if line)

    def clear(self, user: str) -> None:
        """Empty every folder of the user (the folders stay)."""
        for folder in self.folders(user):
            with self._session(user) as imap:
                _ok(imap.select(_quoted(folder)))
                _ok(imap.uid("STORE", "1:*", "+FLAGS.SILENT", r"(\Deleted)"))
                _ok(imap.expunge())

    def _fetch(self, user: str, folder: str) -> list[tuple[bytes, set[str]]]:
        with self._session(user) as imap:
            _ok(imap.select(_quoted(folder), readonly=True))
            uids = sorted(_ok(imap.uid("SEARCH", "ALL"))[0].split(), key=int)
            found = []
            for uid in uids:
                data = _ok(imap.uid("FETCH", uid, "(FLAGS BODY.PEEK[])"))
                head, raw = next(item for item in data if isinstance(item, tuple))
                flags = {flag.decode() for flag in imaplib.ParseFlags(head)}
                found.append((raw, flags))
            return found

    def _session(self, user: str) -> imaplib.IMAP4:
        imap = imaplib.IMAP4(HOST, self.port, timeout=10)
        try:
            _ok(imap.login(user, self._passwords[user]))
        except BaseException:
            imap.shutdown()
            raise
        return imap  # a context manager: logs out at the end


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _ok(result):
    typ, data = result
    if typ != "OK":
        raise RuntimeError(f"IMAP command failed: {typ} {data!r}")
    return data
