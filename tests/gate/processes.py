"""Real processes for the gate's process and nginx tests: a demo database, `beian gate serve`, `beian serve`,
a stand-in hosting backend and nginx.

The database the processes use is made once per session with ``beian migrate`` and the demo loader, then
copied for each test that changes it: a SQLite file (the default), or — when this run's own database is
PostgreSQL (``BEIAN_DATABASE_URL=postgresql://…``) — a scratch PostgreSQL database on that server, created
from a template and dropped at the end, so that the gate's LISTEN path runs end to end there. The demo loader
runs with cheap password hashes (as the rest of the suite does); everything else is the real command.

Every process started here is stopped in the fixture's teardown, whatever the test did.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parents[2]
NGINX = os.environ.get("BEIAN_NGINX", "/usr/sbin/nginx")
PYTHON = sys.executable

DEMO_LOADER = """
import os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "beian.web.settings")
import django
django.setup()
from argon2 import PasswordHasher
from django.conf import settings
from beian.orders import verification
settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
verification.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
from beian.demo import load_demo
load_demo(sys.stdout)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _postgres_url() -> str | None:
    url = os.environ.get("BEIAN_DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql://")) else None


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def _pg_admin(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)


def base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BEIAN_")}
    env["DJANGO_SETTINGS_MODULE"] = "beian.web.settings"
    env["BEIAN_SECRET_KEY"] = "gate-tests-" + "x" * 40
    env["PYTHONUNBUFFERED"] = "1"
    return env


def run(args: list[str], env: dict[str, str], *, timeout: float = 120) -> subprocess.CompletedProcess:
    result = subprocess.run(args, env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{args[2:]} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    return result


@dataclass
class DemoDatabase:
    """One copy of the demo database with its BEIAN_HOME (credentials, secret key)."""

    home: Path
    url: str
    env: dict[str, str]
    credentials: dict = field(default_factory=dict)

    @property
    def vendor(self) -> str:
        return "sqlite" if self.url.startswith("sqlite") else "postgresql"

    def python(self, code: str, *args: str, timeout: float = 60) -> str:
        """Run ``code`` in a fresh interpreter against this database; its stdout."""
        return run([PYTHON, "-c", code, *args], self.env, timeout=timeout).stdout

    def beian(self, *args: str, timeout: float = 60) -> str:
        return run([PYTHON, "-m", "beian", *args], self.env, timeout=timeout).stdout

    def scalar(self, sql: str):
        """One value read straight from the database (no Django: much faster than a subprocess)."""
        if self.vendor == "sqlite":
            import sqlite3

            with contextlib.closing(sqlite3.connect(self.url.removeprefix("sqlite:///"))) as conn:
                return conn.execute(sql).fetchone()[0]
        import psycopg

        with psycopg.connect(self.url) as conn:
            return conn.execute(sql).fetchone()[0]

    def feed_position(self) -> int:
        return int(self.scalar("SELECT COALESCE(MAX(seq), 0) FROM beian_feed"))


class Template:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.pg = _postgres_url()
        self.home = root / "template-home"
        self.home.mkdir()
        self.copies: list[str] = []
        if self.pg:
            self.name = f"beian_gate_tmpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
            _pg_admin(self.pg, f'CREATE DATABASE "{self.name}"')
            self.url = _with_database(self.pg, self.name)
        else:
            self.url = f"sqlite:///{root / 'template.sqlite3'}"
        env = {**base_env(), "BEIAN_HOME": str(self.home), "BEIAN_DATABASE_URL": self.url}
        run([PYTHON, "-m", "beian", "migrate"], env)
        run([PYTHON, "-c", DEMO_LOADER], env)
        self.credentials = json.loads((self.home / "demo-credentials.json").read_text("utf-8"))

    def copy(self, label: str) -> DemoDatabase:
        target = self.root / f"{label}-{uuid.uuid4().hex[:6]}"
        home = target / "home"
        shutil.copytree(self.home, home)
        if self.pg:
            name = f"beian_gate_{os.getpid()}_{uuid.uuid4().hex[:8]}"
            _pg_admin(self.pg, f'CREATE DATABASE "{name}" TEMPLATE "{self.name}"')
            self.copies.append(name)
            url = _with_database(self.pg, name)
        else:
            db = target / "gate.sqlite3"
            src = Path(self.url.removeprefix("sqlite:///"))
            shutil.copy(src, db)
            for suffix in ("-wal", "-shm"):
                if Path(str(src) + suffix).exists():
                    shutil.copy(str(src) + suffix, str(db) + suffix)
            url = f"sqlite:///{db}"
        env = {**base_env(), "BEIAN_HOME": str(home), "BEIAN_DATABASE_URL": url}
        return DemoDatabase(home=home, url=url, env=env, credentials=self.credentials)

    def drop(self) -> None:
        if not self.pg:
            return
        for name in [*self.copies, self.name]:
            with contextlib.suppress(Exception):
                _pg_admin(self.pg, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- processes ------------------------------------------------------------------------------------------------


class Process:
    """A subprocess with its output in a log file; ``stop()`` always ends it."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self.log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            args, env=env, cwd=REPO, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text("utf-8", errors="replace")[-4000:]

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 8) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)  # the process group: granian's workers too
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.log.close()


def http_get(port: int, path: str = "/", *, host: str | None = None, headers: dict | None = None, timeout=5):
    """(status, headers, body) of one GET to 127.0.0.1:port; ``host`` sets the Host header."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.putrequest("GET", path, skip_host=host is not None, skip_accept_encoding=True)
        if host is not None:
            conn.putheader("Host", host)
        for name, value in (headers or {}).items():
            conn.putheader(name, value)
        conn.endheaders()
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def http_json(port: int, method: str, path: str, body=None, *, token: str | None = None, timeout=30):
    """(status, decoded JSON, or the text of a body that is not JSON)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
        response = conn.getresponse()
        raw = response.read()
    finally:
        conn.close()
    try:
        return response.status, (json.loads(raw) if raw else None)
    except ValueError:
        return response.status, raw.decode("utf-8", "replace")[:500]


def wait_for(predicate, timeout: float, step: float = 0.01):
    """Seconds until ``predicate()`` was true, or None."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        with contextlib.suppress(OSError, http.client.HTTPException):
            if predicate():
                return time.monotonic() - start
        time.sleep(step)
    return None


class GateProcess:
    def __init__(self, db: DemoDatabase, log_dir: Path, *extra: str) -> None:
        self.port = free_port()
        self.db = db
        self.process = Process(
            f"gate-{self.port}",
            [PYTHON, "-m", "beian", "gate", "serve", "--port", str(self.port), *extra],
            db.env,
            log_dir,
        )

    def health(self) -> tuple[int, dict]:
        status, _, body = http_get(self.port, "/healthz")
        return status, json.loads(body)

    def wait_ready(self, timeout: float = 30) -> dict:
        def ready() -> bool:
            assert self.process.alive(), f"the gate exited:\n{self.process.output()}"
            return self.health()[0] == 200

        took = wait_for(ready, timeout, step=0.05)
        assert took is not None, f"the gate did not become healthy in {timeout} s:\n{self.process.output()}"
        return self.health()[1]

    def check(self, host: str) -> int:
        return http_get(self.port, "/check", headers={"X-Original-Host": host})[0]

    def metrics(self) -> dict[str, float]:
        _, _, body = http_get(self.port, "/metrics")
        values = {}
        for line in body.decode().splitlines():
            if line and not line.startswith("#"):
                name, value = line.rsplit(" ", 1)
                values[name] = float(value)
        return values


@contextlib.contextmanager
def gate_starter(log_dir: Path):
    gates: list[GateProcess] = []

    def start(db: DemoDatabase, *extra: str) -> GateProcess:
        gate = GateProcess(db, log_dir, *extra)
        gates.append(gate)
        return gate

    try:
        yield start
    finally:
        for gate in gates:
            gate.process.stop()


class Backend:
    """The hosting stand-in: 200 and the Host it was asked for, for any path."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - the http.server API
                body = f"hosted site: {self.headers.get('Host')}\n".encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# Debian's libnginx-mod-http-lua (docs/nginx/beian-gate-lua.conf), loaded as /etc/nginx/modules-enabled would
NGINX_MODULES = Path(os.environ.get("BEIAN_NGINX_MODULES", "/usr/lib/nginx/modules"))
LUA_MODULES = ("ndk_http_module.so", "ngx_http_lua_module.so")


def nginx_main_conf(root: Path, include: Path, *, modules: tuple[str, ...] = ()) -> Path:
    """A minimal top-level nginx.conf with every path in ``root`` around ``http { include … }``."""
    for sub in ("temp", "logs", "cache"):
        (root / sub).mkdir(exist_ok=True)
    user = "user root root;\n" if os.geteuid() == 0 else ""
    load = "".join(f"load_module {NGINX_MODULES / module};\n" for module in modules)
    conf = root / "nginx.conf"
    conf.write_text(
        f"""{load}{user}daemon off;
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/logs/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log {root}/logs/access.log;
    client_body_temp_path {root}/temp/body;
    proxy_temp_path {root}/temp/proxy;
    fastcgi_temp_path {root}/temp/fastcgi;
    uwsgi_temp_path {root}/temp/uwsgi;
    scgi_temp_path {root}/temp/scgi;
    include {include};
}}
"""
    )
    return conf


def adapt(text: str, replacements: dict[str, str]) -> str:
    """Replace each documented value; every one must be present, so that a changed doc fails loudly."""
    for old, new in replacements.items():
        assert old in text, f"the documented configuration no longer contains {old!r}"
        text = text.replace(old, new)
    return text


def nginx_test(conf: Path, root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [NGINX, "-t", "-c", str(conf), "-p", str(root), "-e", str(root / "logs" / "error.log")],
        capture_output=True,
        text=True,
        timeout=30,
    )


class Nginx:
    def __init__(self, conf: Path, root: Path, port: int) -> None:
        self.root = root
        self.port = port
        self.process = Process(
            "nginx",
            [NGINX, "-c", str(conf), "-p", str(root), "-e", str(root / "logs" / "error.log")],
            dict(os.environ),
            root,
        )
        took = wait_for(lambda: socket.create_connection(("127.0.0.1", port), timeout=1).close() or True, 10)
        if took is None:
            self.process.stop()
            raise AssertionError(f"nginx did not listen:\n{self.process.output()}\n{self.error_log()}")

    def error_log(self) -> str:
        path = self.root / "logs" / "error.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def get(self, host: str, path: str = "/"):
        return http_get(self.port, path, host=host)

    def stop(self) -> None:
        self.process.stop(signal.SIGQUIT)  # graceful shutdown
