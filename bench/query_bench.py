"""Public query benchmark: p50/p99 and throughput of /api/v1/public/filings per query kind, against /ping (the
cheapest Django view) measured in the same run, on a dataset made by `beian synth` and loaded by `beian import`.

    .venv/bin/python bench/query_bench.py --subjects 3000000            # the issue's scale (about 5M websites)
    .venv/bin/python bench/query_bench.py --subjects 200000 --backend postgresql
    .venv/bin/python bench/query_bench.py --subjects 200000 --backend postgresql \
        --postgres-db postgresql://postgres@127.0.0.1:5432/mydb     # an existing database (emptied first)
    BEIAN_HOME=/data/big .venv/bin/python -m beian import synth-3m.jsonl   # once, then measure it as it is:
    .venv/bin/python bench/query_bench.py --reuse /data/big [--backend postgresql --postgres-db URL]

One server worker (`beian serve`, WSGI under granian) pinned to CPU 0, wrk on CPU 1: throughput with 50
connections (`wrk -t1 -c50 -d10s`), server-time latency with one connection (no queueing);
the Lua script rotates 2,000 queries of each kind (website numbers, domains or URLs, 3+ character name parts,
two-character names). Targets (issue): p99 ≤ 10 ms for a number, a domain and a 3+ character name, p99 ≤ 20 ms
for a two-character name; throughput ≥ 0.7 × /ping.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
TWO_CHAR = ["腾讯", "阿里", "百度", "京东", "小米", "华为", "网易", "美团", "科技", "网络", "教育", "文化"]


def log(msg: str) -> None:
    print(f"[{time.monotonic() - START:7.1f} s] {msg}", flush=True)


START = time.monotonic()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def beian(env: dict, *args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([PY, "-m", "beian", *args], env=env, check=True, **kw)


def sample_queries(env: dict, n: int, seed: int) -> dict[str, list[str]]:
    code = (
        "import json, os, random, django\n"
        "os.environ['DJANGO_SETTINGS_MODULE']='beian.web.settings'; django.setup()\n"
        "from django.db import connection\n"
        "c = connection.cursor()\n"
        f"rnd = random.Random({seed})\n"
        'c.execute("SELECT max(id) FROM beian_website"); top = c.fetchone()[0]\n'
        f"ids = [rnd.randint(1, top) for _ in range({n} * 2)]\n"
        "q = ','.join(map(str, ids))\n"
        "c.execute(f\"SELECT number FROM beian_website WHERE status='active' AND id IN ({q})\")\n"
        "numbers = [r[0] for r in c.fetchall()]\n"
        "c.execute(f\"SELECT unicode FROM beian_domain WHERE status='active' AND website_id IN ({q})\")\n"
        "domains = [r[0] for r in c.fetchall()]\n"
        'c.execute(f"SELECT s.name FROM beian_subject s JOIN beian_website w ON w.subject_id = s.id WHERE w.id IN ({q})")\n'
        "names = [r[0] for r in c.fetchall()]\n"
        "print(json.dumps({'numbers': numbers, 'domains': domains, 'names': names}, ensure_ascii=False))\n"
    )
    out = subprocess.run([PY, "-c", code], env=env, check=True, capture_output=True, text=True).stdout
    data = json.loads(out)
    rnd = random.Random(seed)
    parts = []
    for name in data["names"]:
        if len(name) >= 4:
            start = rnd.randint(0, len(name) - 3)
            parts.append(name[start : start + rnd.randint(3, min(6, len(name) - start))])
    domains = [rnd.choice(["", "www.", "https://"]) + d for d in data["domains"]]
    return {
        "number": data["numbers"][:n],
        "domain": domains[:n],
        "name (3+ characters)": parts[:n],
        "name (2 characters)": [rnd.choice(TWO_CHAR) for _ in range(n)],
    }


def lua_for(paths: list[str], file: Path) -> Path:
    quoted = ",\n".join(json.dumps(p, ensure_ascii=False) for p in paths)
    file.write_text(
        "local paths = {\n" + quoted + "\n}\nlocal i = 0\n"
        "request = function()\n  i = i % #paths + 1\n  return wrk.format('GET', paths[i])\nend\n",
        "utf-8",
    )
    return file


def wrk(url: str, script: Path | None, duration: int, connections: int = 50) -> dict:
    cmd = ["taskset", "-c", "1", "wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency"]
    if script:
        cmd += ["-s", str(script)]
    subprocess.run([*cmd[:5], "-d1s", *cmd[6:], url], check=True, capture_output=True)  # warm-up
    out = subprocess.run([*cmd, url], check=True, capture_output=True, text=True).stdout
    unit = {"us": 1e-3, "ms": 1.0, "s": 1e3}

    def ms(text: str) -> float:
        m = re.match(r"([\d.]+)(us|ms|s)", text)
        return float(m.group(1)) * unit[m.group(2)]

    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": ms(re.search(r"\n\s+50%\s+(\S+)", out).group(1)),
        "p99": ms(re.search(r"\n\s+99%\s+(\S+)", out).group(1)),
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--subjects", type=int, default=3_000_000)
    ap.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument(
        "--postgres",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="server to create a temporary database on",
    )
    ap.add_argument(
        "--postgres-db",
        metavar="URL",
        help="use this existing database instead of a temporary one: its public schema is emptied first",
    )
    ap.add_argument(
        "--reuse",
        metavar="HOME",
        help="measure a dataset already imported (BEIAN_HOME=HOME; with --postgres-db, that database, not "
        "emptied): no synth, no import; the issue's scale takes half an hour to import per backend",
    )
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument(
        "--threads",
        type=int,
        help="`beian serve --threads` (default: its own, 1 on SQLite and 2 on PostgreSQL)",
    )
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory and database")
    args = ap.parse_args()
    if not shutil.which("wrk"):
        print("wrk is missing: apt-get install -y wrk", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="beian-query-bench-"))
    env = {
        **os.environ,
        "BEIAN_HOME": args.reuse or str(work),
        "BEIAN_PUBLIC_RATE": "1000000000",
        "BEIAN_PUBLIC_BURST": "1000000000",
    }
    dbname = None
    if args.backend == "postgresql" and args.postgres_db and args.reuse:
        env["BEIAN_DATABASE_URL"] = args.postgres_db
    elif args.backend == "postgresql" and args.postgres_db:
        env["BEIAN_DATABASE_URL"] = args.postgres_db
        subprocess.run(
            ["psql", args.postgres_db, "-qc", "DROP SCHEMA public CASCADE; CREATE SCHEMA public"], check=True
        )
    elif args.backend == "postgresql":
        dbname = f"beian_bench_{os.getpid()}"
        admin = args.postgres
        subprocess.run(["psql", admin, "-qc", f"CREATE DATABASE {dbname}"], check=True)
        env["BEIAN_DATABASE_URL"] = admin.rsplit("/", 1)[0] + "/" + dbname
    server = None
    try:
        beian(env, "migrate")
        if args.reuse:
            code = "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'beian.web.settings'; django.setup()\n"
            code += "from beian.registry.models import Subject, Website\n"
            code += "print(Subject.objects.count(), Website.objects.count())"
            counts = subprocess.run([PY, "-c", code], env=env, check=True, capture_output=True, text=True)
            subjects, websites = map(int, counts.stdout.split())
            args.subjects = subjects
            log(f"reusing {args.reuse}: {subjects:,} subjects, {websites:,} websites")
        data = work / "synth.jsonl"
        if not args.reuse:
            t = time.monotonic()
            beian(
                env,
                "synth",
                "--subjects",
                str(args.subjects),
                "--seed",
                "7",
                "--output",
                str(data),
                "--quiet",
            )
            log(f"synth {args.subjects:,} subjects in {time.monotonic() - t:.1f} s")
            t = time.monotonic()
            out = beian(env, "import", str(data), "--quiet", capture_output=True, text=True)
            elapsed = time.monotonic() - t
            summary = (out.stdout + out.stderr).strip().splitlines()[-2:]
            log(f"import in {elapsed:.1f} s: {' / '.join(summary)}")
            if args.backend == "postgresql":
                # Planner statistics for the freshly loaded tables (autovacuum would take them within a minute or
                # so; without them PostgreSQL picks bitmap plans that cost milliseconds a query).
                subprocess.run(["psql", env["BEIAN_DATABASE_URL"], "-qc", "ANALYZE"], check=True)
        queries = sample_queries(env, args.queries, 11)
        port = free_port()
        server = subprocess.Popen(
            ["taskset", "-c", "0", PY, "-m", "beian", "serve", "--port", str(port)]
            + (["--threads", str(args.threads)] if args.threads else []),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.1)
        time.sleep(1.0)
        from urllib.parse import quote

        def measure(url: str, script: Path | None) -> dict:
            # Throughput with 50 connections; latency with one (server time, without queueing behind 49 others).
            loaded = wrk(url, script, args.duration)
            alone = wrk(url, script, max(3, args.duration // 2), connections=1)
            return {**loaded, "p50": alone["p50"], "p99": alone["p99"], "p99_loaded": loaded["p99"]}

        rows = [("/ping (baseline)", measure(base + "/ping", None))]
        for kind, items in queries.items():
            paths = [f"/api/v1/public/filings?q={quote(q)}" for q in items]
            rows.append((kind, measure(base + "/", lua_for(paths, work / f"{len(rows)}.lua"))))
        baseline = rows[0][1]["rps"]
        targets = {"number": 10, "domain": 10, "name (3+ characters)": 10, "name (2 characters)": 20}
        print()
        threads = args.threads or (2 if args.backend == "postgresql" else 1)
        print(
            f"## Public query: {args.subjects:,} subjects on {args.backend}; wrk -t1 -d{args.duration}s, "
            f"1 worker, {threads} thread(s)"
        )
        print(
            f"machine: {os.cpu_count()} CPU, {Path('/proc/cpuinfo').read_text().split('model name')[1].split(':')[1].splitlines()[0].strip()}"
        )
        print(
            "| query | req/s (50 conn.) | p50 ms (1 conn.) | p99 ms (1 conn.) | p99 ms (50 conn.) | non-2xx | × /ping | p99 target |"
        )
        print("|---|---|---|---|---|---|---|---|")
        for name, r in rows:
            target = targets.get(name)
            verdict = (
                "" if target is None else ("PASS" if r["p99"] <= target else "FAIL") + f" (≤ {target} ms)"
            )
            ratio = r["rps"] / baseline
            print(
                f"| {name} | {r['rps']:,.0f} | {r['p50']:.2f} | {r['p99']:.2f} | {r['p99_loaded']:.1f} "
                f"| {r['non2xx']} | {ratio:.2f} | {verdict} |"
            )
        worst = min(r["rps"] for _, r in rows[1:]) / baseline
        print(
            f"\nthroughput: lowest query kind = {worst:.2f} × /ping (target ≥ 0.7): {'PASS' if worst >= 0.7 else 'FAIL'}"
        )
        return 0
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=10)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
            if dbname:
                subprocess.run(
                    ["psql", args.postgres, "-qc", f"DROP DATABASE IF EXISTS {dbname}"], check=False
                )


if __name__ == "__main__":
    raise SystemExit(main())
