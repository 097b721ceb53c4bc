"""Benchmark of the enforcement gate: throughput, freshness and memory, as ratios within one run.

    .venv/bin/python bench/gate_bench.py          # 1,000,000 domains, 3 rounds of 10 s loads, 200 approvals
    .venv/bin/python bench/gate_bench.py --quick  # smoke run: 100,000 domains, 1 round of 3 s, 50 approvals

Method (/work/shared/design/PERFORMANCE.md): ``wrk -t1 -c50 -d10s --latency`` pinned to CPU 1, every server
(nginx with one worker, the gate with one granian worker) pinned to CPU 0, everything on 127.0.0.1. The
machine is noisy: only ratios to nginx ``return 204`` measured in the same round are compared (the median
over the rounds is reported), beside the server CPU per request read from /proc.

1. A temporary BEIAN_HOME with a migrated SQLite database, N served domains written with raw executemany
   (d{i}.bench-{k}.cn, 100,000 a subject, 1,000 a website), a few real filings through ``filing_import``.
2. One nginx (one worker, Debian's Lua module loaded with ``load_module``) with these servers:
   ``return 204`` (the baseline); the site stand-in alone (``empty_gif``, the floor of every gate row);
   docs/nginx/beian-gate-lua.conf (each worker keeps the decisions made on the gate's current version in a
   Lua table read by set_by_lua, the version polled from the gate's /version every 100 ms, misses asked
   through ngx.location.capture, the block page served from memory) and
   docs/nginx/beian-gate.conf (auth_request with a 1 s proxy_cache on tmpfs, and a second copy with the
   cache on disk), each with its ports and paths replaced and its sites upstream replaced by the site
   stand-in after the access phase, where both decide. The stand-in is the cheapest 200 measured there
   (bench/README.md); ``beian gate serve``; a no-op asyncio server on uvloop + httptools (the floor under the gate's own server)
   and a no-op RSGI app under granian (the floor under ``--server granian``).
3. wrk with a Lua script rotating Host (nginx) or X-Original-Host (gate) over filed names, subdomains of
   filed names and unfiled names (10,000 hosts), and, for information, over 100 hot hosts; each run after a
   1 s warm-up. No filing changes during the loads and beian-gate-lua.conf is first sent one pass over the
   hosts, so its row measures its steady state: decisions answered from its memory ("to gate": the
   share of requests the gate decided, from its /metrics; a change of the served set would void them all).
   The target ``nginx + gate >= 0.8 x return 204`` is evaluated on the Lua row; the auth_request rows are
   for information.
4. Freshness: website cancellations approved through the engine (cancel_website_submit, then
   BUREAU_APPROVE by a bureau reviewer), timed from the end of the approving transaction (just before its
   COMMIT: an upper bound) to the first 403, polled every 5 ms from the gate, through beian-gate-lua.conf
   (the gate's feed poll, then nginx's version poll) and through beian-gate.conf (its 1 s cache).
5. Memory: RSS growth of a ServedSet replaced with 5,000,000 names, in a subprocess.

Exit status: 0 when every target passes, 1 when one fails, 2 on error. Every process started here and the
temporary directories are removed at the end, also on error, SIGTERM or Ctrl-C.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import http.client
import importlib.metadata
import json
import math
import os
import platform
import pwd
import random
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AUTH_DOC = ROOT / "docs" / "nginx" / "beian-gate.conf"  # auth_request + 1 s proxy_cache
LUA_DOC = ROOT / "docs" / "nginx" / "beian-gate-lua.conf"  # decisions in worker memory, voided by version
BLOCK_PAGE = ROOT / "docs" / "nginx" / "beian-blocked.html"
BLOCK_TEXT = "该网站暂时无法访问"
# Debian's libnginx-mod-http-lua, loaded as /etc/nginx/modules-enabled would (as tests/gate/processes.py does)
NGINX_MODULES = Path(os.environ.get("BEIAN_NGINX_MODULES", "/usr/lib/nginx/modules"))
LUA_MODULES = ("ndk_http_module.so", "ngx_http_lua_module.so")
# What stands for the site after the access phase, in every row that has one: the cheapest content handler
# measured (bench/README.md): no internal redirect, no file system, answers 200 with a 43-byte GIF.
SITE_STAND_IN = "empty_gif;"
SERVER_CPU, CLIENT_CPU = "0", "1"
DOMAINS_PER_SUBJECT, DOMAINS_PER_WEBSITE = 100_000, 1_000
PASSWORD = "Bench-Password-42"
POLL_EVERY = 0.005  # seconds between freshness polls
FRESH_TIMEOUT = 10.0  # seconds: a host not blocked by then counts as a failure
TARGETS = {
    "nginx_gate_ratio": 0.8,  # nginx + gate (beian-gate-lua.conf) >= 0.8 x nginx return 204
    "gate_ratio": 0.4,  # gate direct >= 0.4 x nginx return 204
    "fresh_gate_p99": 1.0,  # seconds, commit -> first 403 from the gate
    "fresh_nginx_p99": 2.0,  # seconds, commit -> first 403 through nginx, either configuration
    "bytes_per_domain": 100.0,
}
# the rows of the load table
BASE = "nginx return 204"
SITE = "(info) nginx, site stand-in, no gate"
LUA = "nginx + gate, Lua decisions (beian-gate-lua.conf)"
DIRECT = "gate direct"
AUTH = "(info) nginx + auth_request + gate (beian-gate.conf, 1 s cache)"
AUTH_HOT = "(info) nginx + auth_request, 100 hot hosts"
NOOP = "(info) no-op RSGI app, granian"
NOOP_ASYNC = "(info) no-op asyncio server, uvloop + httptools"
AUTH_DISK = "(info) nginx + auth_request, cache on disk"


STARTED = time.monotonic()


def log(msg: str) -> None:
    print(f"[{time.monotonic() - STARTED:6.1f} s] {msg}", flush=True)


# -- processes -----------------------------------------------------------------------------------------


class Processes:
    """Servers started here, each in its own process group (so that its workers go with it)."""

    def __init__(self) -> None:
        self.started: list[tuple[str, subprocess.Popen, object]] = []
        self.temp_dirs: list[Path] = []  # removed after the processes are stopped

    def start(
        self, name: str, argv: list[str], *, log_path: Path, env: dict | None = None, cwd: Path | None = None
    ) -> subprocess.Popen:
        out = open(log_path, "wb")  # noqa: SIM115 - closed in stop_all
        proc = subprocess.Popen(
            ["taskset", "-c", SERVER_CPU, *argv],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
        self.started.append((name, proc, out))
        return proc

    def stop_all(self) -> None:
        for _, proc, _ in reversed(self.started):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for _, proc, _ in self.started:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        for _, proc, out in self.started:
            if proc.poll() is None or group_pids(proc.pid):  # a leader that did not stop, or its workers
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
            out.close()
        self.started.clear()


def group_pids(pgid: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            pids.append(int(entry))
    return pids


def cpu_seconds(pgids: list[int]) -> float:
    """User + system CPU of the live processes of these process groups."""
    ticks = 0
    for pgid in pgids:
        for pid in group_pids(pgid):
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
            except OSError:
                continue
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port: int, path: str, headers: dict[str, str], timeout: float = 5.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def wait_port(port: int, proc: subprocess.Popen, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with status {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {port} within {timeout} s")


# -- database ------------------------------------------------------------------------------------------


def uscc(seed: int) -> str:
    from beian.rules import natures

    body = f"9111010{seed:010d}"[:17]
    return body + natures.uscc_check_char(body)


def filed_name(i: int) -> str:
    return f"d{i}.bench-{i // DOMAINS_PER_SUBJECT}.cn"


def bulk_fill(db_path: Path, n: int, owner_id: int) -> None:
    """N active domains of active websites served here, straight into the tables (no feed rows: the
    gate's start-up load reads the tables)."""
    from beian.registry.search import spaced

    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.create_function(
        "REGEXP", 2, lambda pattern, value: value is not None and re.search(pattern, value) is not None
    )
    conn.execute("PRAGMA synchronous=OFF")
    now = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    subjects = math.ceil(n / DOMAINS_PER_SUBJECT)
    conn.execute("BEGIN")
    website_ids: list[int] = []
    for k in range(subjects):
        count = min(DOMAINS_PER_SUBJECT, n - k * DOMAINS_PER_SUBJECT)
        sites = math.ceil(count / DOMAINS_PER_WEBSITE)
        number = f"京ICP备2020{k:06d}号"
        name = f"压测科技有限公司{k}"
        cur = conn.execute(
            "INSERT INTO beian_subject (number, province, nature, name, name_chars, certificate_type, "
            "certificate_number, address, owner_id, responsible_name, responsible_mobile, responsible_email, "
            "responsible_certificate_type, responsible_certificate_number, status, website_counter, is_shell, "
            "filing_password_hash, password_failures, created_at, approved_at) "
            "VALUES (?, '11', 'enterprise', ?, ?, 'uscc', ?, '北京市', ?, '张三', '13800138000', "
            "'bench@example.cn', '', '', 'active', ?, 0, '', 0, ?, ?)",
            (number, name, spaced(name), uscc(5_000_000 + k), owner_id, sites, now, now),
        )
        subject_id = cur.lastrowid
        for j in range(1, sites + 1):
            cur = conn.execute(
                "INSERT INTO beian_website (subject_id, sequence, number, name, homepage, content_type, "
                "service_type, responsible_name, responsible_mobile, responsible_email, status, served_here, "
                "is_shell, limit_access, created_at, approved_at) "
                "VALUES (?, ?, ?, ?, '', '无', 'website', '张三', '13800138000', 'bench@example.cn', "
                "'active', 1, 0, 0, ?, ?)",
                (subject_id, j, f"{number}-{j}", f"压测网站{k}-{j}", now, now),
            )
            website_ids.append(cur.lastrowid)

    def rows():
        for i in range(n):
            name = filed_name(i)
            yield (name, name, website_ids[i // DOMAINS_PER_WEBSITE], now, now)

    conn.executemany(
        "INSERT INTO beian_domain (name, unicode, status, website_id, created_at, activated_at) "
        "VALUES (?, ?, 'active', ?, ?, ?)",
        rows(),
    )
    conn.execute("COMMIT")
    conn.close()


def import_filing(owner, n: int, domains: list[str], password_hash: str):
    from beian.registry.services import filing_import

    number = f"京ICP备2021{n:06d}号"
    return filing_import(
        owner=owner,
        subject={
            "number": number,
            "nature": "enterprise",
            "name": f"压测导入有限公司{n}",
            "certificate_type": "uscc",
            "certificate_number": uscc(n),
            "address": "北京市海淀区",
            "responsible_name": "李四",
            "responsible_mobile": f"1390013{n % 10000:04d}",
            "responsible_email": f"import{n}@example.cn",
        },
        websites=[
            {
                "number": f"{number}-1",
                "name": f"导入网站{n}",
                "homepage": f"http://{domains[0]}",
                "domains": domains,
            }
        ],
        filing_password_hash=password_hash,
    )


# -- nginx ---------------------------------------------------------------------------------------------


def replace_once(doc: Path, text: str, old: str, new: str) -> str:
    if text.count(old) != 1:
        raise RuntimeError(f"{doc}: expected {old!r} once; update bench/gate_bench.py")
    return text.replace(old, new)


def site_location(indent: str, lines: list[str] | None = None, name: str = "/") -> str:
    """``location NAME`` with ``lines`` (the gate's decision, if any) and the site stand-in."""
    body = [*(lines or []), f"{indent}    {SITE_STAND_IN}"]
    return f"{indent}location {name} {{\n" + "\n".join(body) + f"\n{indent}}}"


def gate_server_config(
    doc: Path, work: Path, *, listen: int, gate_port: int, cache_dir: Path | None = None, suffix: str = ""
) -> str:
    """One of the documented configurations (docs/nginx/*.conf) with its ports and paths replaced and the sites
    upstream replaced by the site stand-in inside nginx, after the access phase where both configurations
    decide (auth_request, access_by_lua). beian-gate.conf keeps its cache in ``cache_dir``;
    beian-gate-lua.conf's version poller is pointed at the gate. ``suffix`` renames the cache zone or the
    Lua state and the gate upstream (both documents name them beian_gate), so that both documents and
    a second copy of beian-gate.conf fit in one nginx (not a second copy of beian-gate-lua.conf: an nginx takes
    a single init_worker_by_lua_block)."""
    text = doc.read_text()
    text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    replacements = {
        "listen 80 default_server;": f"listen 127.0.0.1:{listen};",
        "server 127.0.0.1:8090;": f"server 127.0.0.1:{gate_port};",
    }
    if "proxy_cache_path" in text:  # beian-gate.conf: the cache of the gate's answers, the block page's file
        if cache_dir is None:
            raise RuntimeError(f"{doc} keeps a proxy_cache: pass its cache_dir")
        replacements["/dev/shm/beian-gate"] = str(cache_dir)
        replacements["root /usr/share/beian;"] = f"root {work / 'html'};"
    if "init_worker_by_lua_block" in text:  # beian-gate-lua.conf: the worker polling the gate's /version
        replacements['"127.0.0.1", 8090'] = f'"127.0.0.1", {gate_port}'
    for old, new in replacements.items():
        text = replace_once(doc, text, old, new)
    if suffix:
        text = re.sub(r"\bbeian_gate\b", f"beian_gate{suffix}", text)
    text, count = re.subn(r"\nupstream beian_sites \{.*?\n\}\n", "\n", text, flags=re.S)
    if count != 1:
        raise RuntimeError(f"{doc}: no upstream beian_sites block; update bench/gate_bench.py")

    # Every location handing requests to the sites (beian-gate-lua.conf has two: location / and its miss path)
    # gets the stand-in instead of its proxy_* lines. A location's closing brace is the first one back at its
    # own indent (a Lua block's is deeper).
    def to_stand_in(match: re.Match) -> str:
        indent, name, body = match.group(1), match.group(2), match.group(3)
        if "proxy_pass http://beian_sites;" not in body:
            return match.group(0)
        kept = [line for line in body.splitlines() if not line.strip().startswith("proxy_")]
        return f"\n{site_location(indent, kept, name)}"

    text, count = re.subn(r"\n(\s*)location ([^{\n]+) \{\n(.*?)\n\1\}", to_stand_in, text, flags=re.S)
    if "proxy_pass http://beian_sites;" in text or "location /" not in text:
        raise RuntimeError(
            f"{doc}: a location proxying to beian_sites was not replaced; update bench/gate_bench.py"
        )
    return text


@dataclass
class Ports:
    base: int  # nginx return 204
    site: int  # the site stand-in alone
    auth: int  # beian-gate.conf
    lua: int  # beian-gate-lua.conf
    gate: int  # beian gate serve
    disk: int  # beian-gate.conf with its cache on disk (only when cache_dir is on tmpfs)
    cache_dir: Path  # beian-gate.conf's cache: on tmpfs as documented, when there is one


def nginx_config(work: Path, ports: Ports, *, disk_cache: bool) -> str:
    """One nginx, one worker: the baseline, the site stand-in alone, the two documented configurations (and
    beian-gate.conf with its cache on disk, when the documented one is on tmpfs)."""
    load = "".join(f"load_module {NGINX_MODULES / module};\n" for module in LUA_MODULES)
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};\n" if os.geteuid() == 0 else ""
    temp = "\n".join(
        f"    {kind}_temp_path {work / 'tmp' / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    auth = gate_server_config(
        AUTH_DOC, work, listen=ports.auth, gate_port=ports.gate, cache_dir=ports.cache_dir
    )
    lua = gate_server_config(LUA_DOC, work, listen=ports.lua, gate_port=ports.gate, suffix="_lua")
    disk = ""
    if disk_cache:
        disk = "\n    # the same with its cache on disk\n" + gate_server_config(
            AUTH_DOC, work, listen=ports.disk, gate_port=ports.gate, cache_dir=work / "cache", suffix="_disk"
        )
    return f"""{load}{user}worker_processes 1;
daemon off;
pid {work / "nginx.pid"};
error_log {work / "nginx-error.log"} warn;
events {{
    worker_connections 4096;
}}
http {{
    access_log off;
{temp}

    # baseline
    server {{
        listen 127.0.0.1:{ports.base};
        location / {{
            return 204;
        }}
    }}

    # the site stand-in alone: the floor under every gate row
    server {{
        listen 127.0.0.1:{ports.site};
{site_location("        ")}
    }}

    # derived from {AUTH_DOC.relative_to(ROOT)}
{auth}
{disk}

    # derived from {LUA_DOC.relative_to(ROOT)}
{lua}
}}
"""


# -- load ----------------------------------------------------------------------------------------------

NOOP_APP = """async def app(scope, proto):
    proto.response_empty(204, [])
"""
# the floor under `beian gate serve` (beian.gate.server): the same loop, parser and transport, no decision
NOOP_ASYNC_APP = """import asyncio, sys, httptools, uvloop
ANSWER = b"HTTP/1.1 204 No Content\\r\\n\\r\\n"
class Noop(asyncio.Protocol):
    def connection_made(self, t):
        self.t, self.p = t, httptools.HttpRequestParser(self)
    def data_received(self, d):
        self.p.feed_data(d)
    def on_message_complete(self):
        self.t.write(ANSWER)
async def main(port):
    s = await asyncio.get_running_loop().create_server(Noop, "127.0.0.1", port, backlog=2048)
    await s.serve_forever()
uvloop.run(main(int(sys.argv[1])))
"""


@dataclass
class Mix:
    hosts: list[str]
    blocked: set[str]
    samples: dict[str, str] = field(default_factory=dict)  # kind -> one host, for the sanity checks


def host_mix(n: int, count: int, real: list[str], rng: random.Random) -> Mix:
    """45 % filed names, 25 % subdomains of filed names, 30 % unfiled (siblings under an unfiled parent and
    unrelated names); the real imported filings and a subdomain of each are in too."""
    served: set[str] = set(real) | {f"www.{name}" for name in real}
    blocked: set[str] = set()
    want_filed = min(int(count * 0.45), len(served) + n // 2)
    want_sub = min(int(count * 0.25), n)
    while len(served) < want_filed:
        served.add(filed_name(rng.randrange(n)))
    while len(served) < want_filed + want_sub:
        served.add(rng.choice(["www.", "img.static.", "m."]) + filed_name(rng.randrange(n)))
    while len(served) + len(blocked) < count:
        i = rng.randrange(10 * n)
        blocked.add(f"u{i}.bench-{i % max(1, n // DOMAINS_PER_SUBJECT)}.cn" if i % 2 else f"nofiling-{i}.cn")
    hosts = sorted(served | blocked)
    rng.shuffle(hosts)
    samples = {
        "filed": filed_name(n - 1),
        "subdomain": "www." + filed_name(0),
        "real": real[0],
        "unfiled": sorted(blocked)[0],
        "parent of filed": f"bench-{(n - 1) // DOMAINS_PER_SUBJECT}.cn",
    }
    return Mix(hosts, blocked, samples)


def lua_script(path: Path, hosts: list[str], header: str) -> None:
    entries = ",\n".join(json.dumps(h) for h in hosts)
    path.write_text(
        f"""local hosts = {{
{entries}
}}
local requests = {{}}
local i = 0

function init(args)
    for k, host in ipairs(hosts) do
        requests[k] = wrk.format(nil, nil, {{[{json.dumps(header)}] = host}})
    end
end

function request()
    i = i % #requests + 1
    return requests[i]
end
"""
    )


@dataclass
class Target:
    name: str
    url: str
    script: Path
    pgids: list[int]  # the process groups whose CPU the row counts
    via_gate: bool = False  # the row reports the share of requests the gate decided


@dataclass
class LoadResult:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    non2xx: int
    requests: int
    errors: str
    cpu_us: float | None
    gate_share: float | None  # requests that reached the gate / requests (nginx rows: the cache miss rate)


def to_ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def gate_decisions(port: int) -> int:
    """Requests the gate has decided so far (its /metrics counters)."""
    _, body = get(port, "/metrics", {})
    return int(
        sum(float(v) for v in re.findall(r"^beian_gate_decisions_total\{[^}]*\} (\S+)$", body.decode(), re.M))
    )


def lua_hit(port: int, gate_port: int, host: str, timeout: float = 3.0) -> bool:
    """Whether beian-gate-lua.conf answers a repeated host without asking the gate (its poller has the
    gate's version), within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        get(port, "/", {"Host": host})
        before = gate_decisions(gate_port)
        get(port, "/", {"Host": host})
        if gate_decisions(gate_port) == before:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)


def prime(port: int, hosts: list[str], gate_port: int, connections: int = 16) -> tuple[float, int]:
    """One request for each host through nginx: (seconds, requests the gate decided)."""

    def send(chunk: list[str]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            for host in chunk:
                conn.request("GET", "/", headers={"Host": host})
                conn.getresponse().read()
        finally:
            conn.close()

    decided, started = gate_decisions(gate_port), time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(connections) as pool:
        list(pool.map(send, [hosts[i::connections] for i in range(connections)]))
    return time.monotonic() - started, gate_decisions(gate_port) - decided


def run_wrk(
    name: str, url: str, script: Path, duration: int, pgids: list[int], gate_port: int, *, warmup: bool = True
) -> LoadResult:
    base = ["taskset", "-c", CLIENT_CPU, "wrk", "-t1", "-c50", "--latency", "-s", str(script)]
    if warmup:
        subprocess.run([*base, "-d1s", url], check=True, capture_output=True)
    decided, cpu0 = gate_decisions(gate_port), cpu_seconds(pgids)
    out = subprocess.run([*base, f"-d{duration}s", url], check=True, capture_output=True, text=True).stdout
    cpu = cpu_seconds(pgids) - cpu0
    decided = gate_decisions(gate_port) - decided
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    p50 = to_ms(re.search(r"\n\s+50%\s+(\S+)", out).group(1))
    p99 = to_ms(re.search(r"\n\s+99%\s+(\S+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return LoadResult(
        name,
        rps,
        p50,
        p99,
        int(non2xx.group(1)) if non2xx else 0,
        requests,
        errors.group(1) if errors else "",
        cpu / requests * 1e6 if requests else None,
        decided / requests if requests else None,
    )


def median_run(runs: list[LoadResult]) -> LoadResult:
    return sorted(runs, key=lambda r: r.rps)[(len(runs) - 1) // 2]


# -- freshness -----------------------------------------------------------------------------------------


class Poller(threading.Thread):
    """Polls one host every POLL_EVERY seconds until the first 403; notes when it saw it."""

    def __init__(self, via: str, port: int, path: str, header: str, host: str, ok: int) -> None:
        super().__init__(daemon=True)
        self.port, self.path, self.headers, self.ok = port, path, {header: host}, ok
        self.host, self.via = host, via
        self.polls = 0
        self.blocked_at: float | None = None
        self.error: str | None = None
        self.deadline = time.monotonic() + 60  # moved to commit + FRESH_TIMEOUT once the commit is known

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        tick = time.monotonic()
        try:
            while True:
                conn.request("GET", self.path, headers=self.headers)
                resp = conn.getresponse()
                resp.read()
                now = time.monotonic()
                self.polls += 1
                if resp.status == 403:
                    self.blocked_at = now
                    return
                if resp.status != self.ok:
                    self.error = f"{self.via}, {self.host}: unexpected status {resp.status}"
                    return
                if now > self.deadline:
                    self.error = f"{self.via}, {self.host}: not blocked {FRESH_TIMEOUT} s after the commit"
                    return
                tick += POLL_EVERY
                time.sleep(max(0.0, tick - time.monotonic()))
        except Exception as exc:  # noqa: BLE001 - reported, the run goes on
            self.error = f"{self.via}, {self.host}: {exc!r}"
        finally:
            conn.close()


FRESH_PATHS = ("gate", "auth", "lua")  # the gate itself, through beian-gate.conf, through beian-gate-lua.conf


def freshness(fresh: list[tuple[int, str]], owner, bureau, *, ports: Ports, rng) -> dict:
    """Approve the cancellation of each website and time commit -> first 403 (from the gate, and through
    nginx with each configuration)."""
    from django.db import transaction

    from beian.orders.services import cancel_website_submit
    from beian.orders.workflow import Action, move

    runs, windows = [], []
    for index, (site_id, host) in enumerate(fresh, start=1):
        pollers = (
            Poller("gate", ports.gate, "/check", "X-Original-Host", host, 204),
            Poller("nginx auth_request", ports.auth, "/", "Host", host, 200),
            Poller("nginx Lua", ports.lua, "/", "Host", host, 200),
        )
        for p in pollers:
            p.start()
        # a random phase against the nginx cache entry, the gate's feed poll and the Lua version poll
        time.sleep(rng.uniform(0.02, 1.02))
        order = cancel_website_submit(actor=owner, website=site_id, password=PASSWORD)
        stamp: dict[str, float] = {}
        with transaction.atomic():
            transaction.on_commit(lambda stamp=stamp: stamp.setdefault("after", time.monotonic()))
            move(order, Action.BUREAU_APPROVE, actor=bureau)
            stamp["before"] = time.monotonic()  # the COMMIT follows: latencies count from here (upper bound)
        windows.append(stamp["after"] - stamp["before"])
        for p in pollers:
            p.deadline = stamp["before"] + FRESH_TIMEOUT
        runs.append((stamp["before"], pollers))
        if index % 50 == 0:
            log(f"freshness: {index}/{len(fresh)} approvals")
    latencies: dict[str, list[float]] = {path: [] for path in FRESH_PATHS}
    errors: list[tuple[str, str]] = []  # (path, what went wrong)
    polls = 0
    for commit, pollers in runs:
        for p, path in zip(pollers, FRESH_PATHS, strict=True):
            p.join(FRESH_TIMEOUT + 10)
            polls += p.polls
            if p.error:
                errors.append((path, p.error))
            elif p.blocked_at is None:
                errors.append((path, f"{p.via}, {p.host}: poller still running"))
            elif p.blocked_at < commit:
                errors.append((path, f"{p.via}, {p.host}: blocked before the approval committed"))
            else:
                latencies[path].append(p.blocked_at - commit)
    return {**latencies, "errors": errors, "polls": polls, "commit_window": max(windows)}


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] if ordered else float("nan")


# -- memory --------------------------------------------------------------------------------------------

MEMORY_CODE = r"""
import gc, json, sys, time
from beian.gate.served import ServedSet

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024

n, per_subject = int(sys.argv[1]), int(sys.argv[2])
served = ServedSet()
gc.collect()
before = status("VmRSS")
started = time.perf_counter()
served.replace((f"d{i}.bench-{i // per_subject}.cn" for i in range(n)), 0)
took = time.perf_counter() - started
after = status("VmRSS")
gc.collect()
after_gc = status("VmRSS")
assert len(served) == n and served.match(f"www.d{n - 1}.bench-{(n - 1) // per_subject}.cn")
print(json.dumps({"n": n, "before": before, "after": after, "after_gc": after_gc,
                  "peak": status("VmHWM"), "seconds": took}))
"""


def memory(n: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", MEMORY_CODE, str(n), str(DOMAINS_PER_SUBJECT)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


# -- report --------------------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    model = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    nginx = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip()
    wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.splitlines()
    return {
        "nproc": str(os.cpu_count()),
        "CPU": model,
        "kernel": platform.release(),
        "nginx": nginx.removeprefix("nginx version: "),
        "python": platform.python_version(),
        "granian": importlib.metadata.version("granian"),
        "django": importlib.metadata.version("django"),
        "sqlite": sqlite3.sqlite_version,
        "wrk": wrk[0].split(" [")[0] if wrk else "?",
    }


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    fmt = "| " + " | ".join(f"{{:{w}}}" for w in widths) + " |"
    lines = [fmt.format(*header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    lines += [fmt.format(*r) for r in rows]
    return "\n".join(lines)


# -- main ----------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--domains", type=int, help="served domains in the database (default 1,000,000)")
    parser.add_argument("--duration", type=int, help="seconds of each wrk run (default 10)")
    parser.add_argument("--approvals", type=int, help="cancellations approved for freshness (default 200)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 100,000 domains, 3 s, 50 approvals")
    parser.add_argument("--hosts", type=int, default=10_000, help="distinct hosts the load rotates over")
    parser.add_argument("--memory-domains", type=int, default=5_000_000, help="names in the memory test")
    parser.add_argument("--poll-interval", type=float, default=0.1, help="the gate's feed poll interval, s")
    parser.add_argument("--rounds", type=int, help="rounds over the load targets (default 3; --quick 1)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    quick = {"domains": 100_000, "duration": 3, "approvals": 50, "rounds": 1}
    full = {"domains": 1_000_000, "duration": 10, "approvals": 200, "rounds": 3}
    for key, value in (quick if args.quick else full).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    for key in ("domains", "duration", "approvals", "rounds", "hosts", "memory_domains"):
        if getattr(args, key) < 1:
            parser.error(f"--{key.replace('_', '-')} must be at least 1")
    if args.domains < 1000 or args.hosts < 100:
        parser.error("--domains must be at least 1000 and --hosts at least 100")
    return args


def run(args: argparse.Namespace, work: Path, procs: Processes) -> int:
    rng = random.Random(args.seed)
    if len(os.sched_getaffinity(0)) < 2 or not {0, 1} <= os.sched_getaffinity(0):
        raise RuntimeError("needs CPUs 0 and 1 (servers on 0, client on 1)")
    for tool in ("wrk", "nginx", "taskset"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"{tool} not found (apt-get install -y {tool})")
    missing = [module for module in LUA_MODULES if not (NGINX_MODULES / module).exists()]
    if missing:
        raise RuntimeError(
            f"{LUA_DOC.name} needs {', '.join(missing)} in {NGINX_MODULES}: apt-get install -y libnginx-mod-http-lua"
        )
    os.sched_setaffinity(0, {int(CLIENT_CPU)})  # this process (and its pollers) stay off the servers' CPU
    info = machine()
    load_before = Path("/proc/loadavg").read_text().split()[:3]
    log(f"work dir {work}; {args.domains:,} domains, {args.duration} s loads, {args.approvals} approvals")

    # 1. database ----------------------------------------------------------------------------------------
    db_path = work / "beian.sqlite3"
    env = {
        **os.environ,
        "BEIAN_HOME": str(work / "home"),
        "BEIAN_DATABASE_URL": f"sqlite:///{db_path}",
        "DJANGO_SETTINGS_MODULE": "beian.web.settings",
        "BEIAN_EMAIL_BACKEND": "file",
        "BEIAN_SMS_BACKEND": "file",
        "BEIAN_SMS_FILE": str(work / "home" / "sms.log"),
        "BEIAN_CANCELLATION_VERIFICATION": "password",
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT / "src"), os.environ.get("PYTHONPATH")) if p),
    }
    (work / "home").mkdir()
    os.environ.update(env)
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "beian", "migrate"], check=True, env=env, capture_output=True)
    log(f"migrated in {time.monotonic() - started:.1f} s")

    import django

    django.setup()
    from argon2 import PasswordHasher
    from django.db import connection

    from beian.accounts.services import user_create
    from beian.orders import verification

    # Cheap argon2 for the bench: the filing password check is on the path, but is not what is measured.
    verification.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    password_hash = verification.hash_password(PASSWORD)
    owner = user_create(username="bench-owner", password=None, email="owner@example.cn")
    bureau = user_create(
        username="bench-bureau", password=None, role="bureau_reviewer", province="11", email="b@example.cn"
    )
    connection.close()

    started = time.monotonic()
    bulk_fill(db_path, args.domains, owner.pk)
    fill_seconds = time.monotonic() - started
    log(
        f"inserted {args.domains:,} domains in {fill_seconds:.1f} s ({args.domains / fill_seconds:,.0f} rows/s)"
    )

    started = time.monotonic()
    real = [f"real-{i}.cn" for i in range(20)]
    for i, name in enumerate(real, start=1):
        import_filing(owner, i, [name], password_hash)
    fresh: list[tuple[int, str]] = []
    for i in range(args.approvals):
        host = f"fresh-{i}.cn"
        subject = import_filing(owner, 1000 + i, [host], password_hash)
        fresh.append((subject.websites.get().pk, host))
    connection.close()
    log(
        f"imported {len(real) + len(fresh)} filings through filing_import in {time.monotonic() - started:.1f} s"
    )

    # 2. servers ---------------------------------------------------------------------------------------
    for sub in ("html", "tmp", "cache"):
        (work / sub).mkdir()
    cache_dir, disk_cache = work / "cache", False
    if Path("/dev/shm").is_dir():  # beian-gate.conf's cache on tmpfs as documented, and a copy on disk
        cache_dir = Path(tempfile.mkdtemp(prefix="beian-gate-bench-cache-", dir="/dev/shm"))
        procs.temp_dirs.append(cache_dir)
        disk_cache = True
    ports = Ports(
        base=free_port(),
        site=free_port(),
        auth=free_port(),
        lua=free_port(),
        gate=free_port(),
        disk=free_port(),
        cache_dir=cache_dir,
    )
    gate_port = ports.gate
    shutil.copyfile(BLOCK_PAGE, work / "html" / "beian-blocked.html")
    conf = work / "nginx.conf"
    conf.write_text(nginx_config(work, ports, disk_cache=disk_cache))
    subprocess.run(
        ["nginx", "-t", "-q", "-p", str(work), "-c", str(conf), "-e", str(work / "nginx-error.log")],
        check=True,
    )
    nginx = procs.start(
        "nginx",
        ["nginx", "-p", str(work), "-c", str(conf), "-e", str(work / "nginx-error.log")],
        log_path=work / "nginx.out",
    )
    wait_port(ports.base, nginx, "nginx")

    started = time.monotonic()
    gate_log = work / "gate.log"
    gate = procs.start(
        "gate",
        [
            sys.executable,
            "-m",
            "beian",
            "gate",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(gate_port),
            "--poll-interval",
            str(args.poll_interval),
        ],
        log_path=gate_log,
        env=env,
    )
    wait_port(gate_port, gate, "the gate", timeout=60)
    while True:
        if gate.poll() is not None:
            raise RuntimeError(f"the gate exited: {gate_log.read_text()[-2000:]}")
        status, body = get(gate_port, "/healthz", {})
        if status == 200 and json.loads(body)["status"] == "ok":
            break
        if time.monotonic() - started > 900:
            raise RuntimeError("the gate did not load within 900 s")
        time.sleep(0.1)
    ready_seconds = time.monotonic() - started
    loaded = re.search(r"loaded (\d+) domains in ([\d.]+) s", gate_log.read_text())
    load_seconds = float(loaded.group(2)) if loaded else float("nan")
    gate_size = json.loads(body)["size"]
    gate_rss = max(rss_bytes(pid) for pid in group_pids(gate.pid))
    log(f"gate: loaded {gate_size:,} domains in {load_seconds:.2f} s (ready after {ready_seconds:.1f} s)")
    expected_size = args.domains + len(real) + len(fresh)
    if gate_size != expected_size:
        raise RuntimeError(f"the gate serves {gate_size} domains, expected {expected_size}")

    # the floor under the gate: a no-op RSGI app under granian, started like `beian gate serve`
    noop_port = free_port()
    (work / "noop_rsgi.py").write_text(NOOP_APP)
    noop = procs.start(
        "noop",
        [sys.executable, "-m", "granian", "--interface", "rsgi", "--workers", "1", "--host", "127.0.0.1",
         "--port", str(noop_port), "--backlog", "2048", "--no-access-log", "noop_rsgi:app"],
        log_path=work / "noop.log",
        env={**env, "PYTHONPATH": os.pathsep.join([str(work), env["PYTHONPATH"]])},
        cwd=work,
    )  # fmt: skip
    wait_port(noop_port, noop, "the no-op RSGI app")
    noop_async_port = free_port()
    (work / "noop_asyncio.py").write_text(NOOP_ASYNC_APP)
    noop_async = procs.start(
        "noop-asyncio",
        [sys.executable, str(work / "noop_asyncio.py"), str(noop_async_port)],
        log_path=work / "noop-asyncio.log",
        env=env,
        cwd=work,
    )
    wait_port(noop_async_port, noop_async, "the no-op asyncio server")

    # 3. load ------------------------------------------------------------------------------------------
    mix = host_mix(args.domains, args.hosts, real, rng)
    checks: list[tuple[str, object, object]] = []  # (what, got, expected)
    for kind, host in mix.samples.items():
        blocked = kind in {"unfiled", "parent of filed"}
        checks.append(
            (f"gate {kind}", get(gate_port, "/check", {"X-Original-Host": host})[0], 403 if blocked else 204)
        )
        for label, port in (("auth_request", ports.auth), ("Lua", ports.lua)):
            status, body = get(port, "/", {"Host": host})
            # a blocked host gets the block page; a served one the site stand-in, never the block page
            checks.append((f"nginx {label} {kind}", (status, BLOCK_TEXT in body.decode(errors="replace")),
                           (403, True) if blocked else (200, False)))  # fmt: skip
    checks.append(("nginx baseline", get(ports.base, "/", {"Host": mix.samples["unfiled"]})[0], 204))
    checks.append(("nginx site stand-in", get(ports.site, "/", {"Host": mix.samples["unfiled"]})[0], 200))
    checks.append(("gate fresh", get(gate_port, "/check", {"X-Original-Host": fresh[0][1]})[0], 204))
    checks.append(
        (
            "nginx Lua: a repeated host is answered from its memory",
            lua_hit(ports.lua, gate_port, real[1]),
            True,
        )
    )
    wrong = [f"{name}: {got} (expected {want})" for name, got, want in checks if got != want]
    if wrong:
        raise RuntimeError("sanity checks failed: " + "; ".join(wrong))
    log(
        f"sanity checks passed ({len(checks)}); load over {len(mix.hosts):,} hosts, {len(mix.blocked):,} unfiled"
    )

    host_lua, xoh_lua, hot_lua = work / "host.lua", work / "x-original-host.lua", work / "hot.lua"
    lua_script(host_lua, mix.hosts, "Host")
    lua_script(xoh_lua, mix.hosts, "X-Original-Host")
    hot = host_mix(args.domains, 100, real, random.Random(args.seed + 1))
    lua_script(hot_lua, hot.hosts, "Host")
    both = [nginx.pid, gate.pid]
    # beian-gate-lua.conf's steady state: every host decided once on the current version (no filing changes
    # during the loads), then its row measures its memory; "to gate" shows what still missed
    took, decided = prime(ports.lua, mix.hosts, gate_port)
    log(
        f"{LUA_DOC.name}: one pass over the {len(mix.hosts):,} hosts in {took:.1f} s, {decided:,} to the gate"
    )

    def url(port: int, path: str = "/") -> str:
        return f"http://127.0.0.1:{port}{path}"

    targets = [
        Target(BASE, url(ports.base), host_lua, [nginx.pid]),
        Target(SITE, url(ports.site), host_lua, [nginx.pid]),
        Target(LUA, url(ports.lua), host_lua, both, via_gate=True),
        Target(DIRECT, url(gate_port, "/check"), xoh_lua, [gate.pid], via_gate=True),
        Target(AUTH, url(ports.auth), host_lua, both, via_gate=True),
        Target(AUTH_HOT, url(ports.auth), hot_lua, both, via_gate=True),
        Target(NOOP_ASYNC, url(noop_async_port, "/check"), xoh_lua, [noop_async.pid]),
        Target(NOOP, url(noop_port, "/check"), xoh_lua, [noop.pid]),
    ]
    if disk_cache:
        targets.append(Target(AUTH_DISK, url(ports.disk), host_lua, both, via_gate=True))
    via_gate = {t.name for t in targets if t.via_gate}
    runs: dict[str, list[LoadResult]] = {t.name: [] for t in targets}
    for round_ in range(1, args.rounds + 1):
        for t in targets:
            result = run_wrk(t.name, t.url, t.script, args.duration, t.pgids, gate_port)
            runs[t.name].append(result)
            log(
                f"round {round_}/{args.rounds} {t.name}: {result.rps:,.0f} req/s, p50 {result.p50_ms:.2f} ms, "
                f"p99 {result.p99_ms:.2f} ms, {result.cpu_us:.1f} µs CPU/req"
            )
    loads = [median_run(runs[t.name]) for t in targets]
    base_runs = runs[BASE]
    # ratios against the baseline of the same round, then the median over the rounds
    ratio = {
        name: statistics.median(r.rps / b.rps for r, b in zip(rs, base_runs, strict=True))
        for name, rs in runs.items()
    }
    cpu_ratio = {
        name: statistics.median(b.cpu_us / r.cpu_us for r, b in zip(rs, base_runs, strict=True))
        for name, rs in runs.items()
    }
    nginx_gate, direct = ratio[LUA], ratio[DIRECT]
    blocked_share = len(mix.blocked) / len(mix.hosts)
    load_after = Path("/proc/loadavg").read_text().split()[:3]

    # 4. freshness -------------------------------------------------------------------------------------
    log(f"freshness: {len(fresh)} approvals, polling every {POLL_EVERY * 1000:.0f} ms")
    fresh_result = freshness(fresh, owner, bureau, ports=ports, rng=rng)
    from django.db import connection as conn

    conn.close()

    # 5. memory ----------------------------------------------------------------------------------------
    log(f"memory: ServedSet of {args.memory_domains:,} names in a subprocess")
    mem = memory(args.memory_domains)
    per_domain = (mem["after_gc"] - mem["before"]) / mem["n"]

    # report -------------------------------------------------------------------------------------------
    rows = []
    for r in loads:
        rates = [x.rps for x in runs[r.name]]
        rows.append(
            [
                r.name,
                f"{r.rps:,.0f}",
                f"{min(rates):,.0f}–{max(rates):,.0f}" if len(rates) > 1 else "",
                f"{r.p50_ms:.2f}",
                f"{r.p99_ms:.2f}",
                f"{r.cpu_us:.1f}" if r.cpu_us else "?",
                f"{r.non2xx / r.requests:.1%}" if r.requests else "?",
                f"{r.gate_share:.1%}" if r.gate_share is not None and r.name in via_gate else "",
                f"{ratio[r.name]:.2f}",
                f"{cpu_ratio[r.name]:.2f}",
            ]
        )

    def fresh_ok(path: str, limit: float) -> bool:
        values = fresh_result[path]
        failed = any(p == path for p, _ in fresh_result["errors"])
        return bool(values) and percentile(values, 99) <= limit and not failed

    def spread(values: list[float]) -> str:
        return (
            f"p50 {percentile(values, 50) * 1000:.0f} ms, p99 {percentile(values, 99) * 1000:.0f} ms, "
            f"max {max(values, default=float('nan')) * 1000:.0f} ms (n={len(values)})"
        )

    def slash(values: list[float]) -> str:
        return (
            f"{percentile(values, 50) * 1000:.0f} / {percentile(values, 99) * 1000:.0f} / "
            f"{max(values, default=float('nan')) * 1000:.0f} ms"
        )

    outcomes = [
        (
            "nginx + gate (beian-gate-lua.conf) ≥ 0.8 × nginx return 204 (req/s)",
            f"{nginx_gate:.2f} × (CPU: {cpu_ratio[LUA]:.2f} ×); (info) auth_request: {ratio[AUTH]:.2f} × "
            f"(CPU: {cpu_ratio[AUTH]:.2f} ×), site stand-in alone: {ratio[SITE]:.2f} ×",
            nginx_gate >= TARGETS["nginx_gate_ratio"],
        ),
        (
            "gate direct ≥ 0.4 × nginx return 204 (req/s)",
            f"{direct:.2f} × (CPU: {cpu_ratio[DIRECT]:.2f} ×)",
            direct >= TARGETS["gate_ratio"],
        ),
        (
            "freshness, gate: p99 ≤ 1 s",
            spread(fresh_result["gate"]),
            fresh_ok("gate", TARGETS["fresh_gate_p99"]),
        ),
        (
            "freshness, through nginx, Lua decisions: p99 ≤ 2 s",
            spread(fresh_result["lua"]),
            fresh_ok("lua", TARGETS["fresh_nginx_p99"]),
        ),
        (
            "freshness, through nginx, auth_request (1 s cache): p99 ≤ 2 s",
            spread(fresh_result["auth"]),
            fresh_ok("auth", TARGETS["fresh_nginx_p99"]),
        ),
        (
            f"memory at {mem['n']:,} domains ≤ 100 B/domain",
            f"{per_domain:.1f} B/domain",
            per_domain <= TARGETS["bytes_per_domain"],
        ),
    ]

    print()
    print("## Machine")
    print(table([[k, v] for k, v in info.items()], ["", ""]))
    print()
    print(
        f"## Load: {args.domains:,} domains served; {len(mix.hosts):,} hosts rotated, {blocked_share:.0%} unfiled"
    )
    print(
        f"wrk -t1 -c50 -d{args.duration}s --latency on CPU {CLIENT_CPU}, servers on CPU {SERVER_CPU}; "
        f"{args.rounds} round(s): the run with the median req/s, ratios = median over rounds of the ratio "
        f"to the same round's baseline; load average before "
        f"{' '.join(load_before)}, after {' '.join(load_after)}"
    )
    print(
        table(
            rows,
            ["target", "req/s", "range", "p50 ms", "p99 ms", "server CPU µs/req", "non-2xx", "to gate",
             "× baseline req/s", "× baseline CPU"],
        )
    )  # fmt: skip
    for r in (r for rs in runs.values() for r in rs if r.errors):
        print(f"  {r.name}: socket errors {r.errors}")
    print(
        "  non-2xx: 403 answers (unfiled hosts, expected "
        f"{blocked_share:.0%}); to gate: requests the gate decided / requests (through nginx: the misses of its "
        f"cache or memory); site stand-in: `{SITE_STAND_IN}` after the access phase, in every nginx row but "
        "the baseline; × baseline CPU: nginx return 204's server CPU per request / this row's"
    )
    print()
    print("## Gate start-up and freshness")
    print(
        table(
            [
                ["domains loaded at start", f"{gate_size:,}"],
                ["load time (gate log)", f"{load_seconds:.2f} s"],
                ["start to /healthz ok", f"{ready_seconds:.1f} s"],
                ["gate worker RSS after load", f"{gate_rss / 2**20:,.0f} MiB"],
                ["feed poll interval", f"{args.poll_interval * 1000:.0f} ms"],
                ["approvals (cancel_website + BUREAU_APPROVE)", f"{args.approvals}"],
                ["freshness polls sent", f"{fresh_result['polls']:,} (every {POLL_EVERY * 1000:.0f} ms)"],
                ["commit → 403, gate p50 / p99 / max", slash(fresh_result["gate"])],
                ["commit → 403, nginx + Lua decisions p50 / p99 / max", slash(fresh_result["lua"])],
                [
                    "commit → 403, nginx + auth_request (1 s cache) p50 / p99 / max",
                    slash(fresh_result["auth"]),
                ],
                [
                    "commit window (end of transaction → on_commit), max",
                    f"{fresh_result['commit_window'] * 1000:.1f} ms",
                ],
                ["freshness errors", str(len(fresh_result["errors"]))],
            ],
            ["", ""],
        )
    )
    for _, error in fresh_result["errors"][:10]:
        print(f"  {error}")
    print()
    print(f"## Memory: ServedSet.replace() with {mem['n']:,} names (subprocess)")
    print(
        table(
            [
                ["VmRSS before", f"{mem['before'] / 2**20:,.0f} MiB"],
                ["VmRSS after replace()", f"{mem['after'] / 2**20:,.0f} MiB"],
                ["VmRSS after gc.collect()", f"{mem['after_gc'] / 2**20:,.0f} MiB"],
                ["VmHWM (peak)", f"{mem['peak'] / 2**20:,.0f} MiB"],
                ["growth per domain", f"{per_domain:.1f} B"],
                ["replace() time", f"{mem['seconds']:.1f} s"],
            ],
            ["", ""],
        )
    )
    print()
    print("## Targets")
    print(table([[name, value, verdict(ok)] for name, value, ok in outcomes], ["target", "measured", ""]))
    failed = [name for name, _, ok in outcomes if not ok]
    print()
    print(
        f"{len(outcomes) - len(failed)}/{len(outcomes)} targets pass"
        + (f"; FAIL: {', '.join(failed)}" if failed else "")
    )
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="beian-gate-bench-"))
    procs = Processes()

    def terminate(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started in the background
    if signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:  # keep nohup's choice
        signal.signal(signal.SIGHUP, terminate)
    try:
        return run(args, work, procs)
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        log(f"error: {exc}")
        if isinstance(exc, subprocess.CalledProcessError) and exc.stderr:
            print(exc.stderr if isinstance(exc.stderr, str) else exc.stderr.decode(errors="replace"))
        return 2
    except Exception:
        traceback.print_exc()
        return 2
    finally:
        procs.stop_all()
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        for path in [*procs.temp_dirs, work]:
            shutil.rmtree(path, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
