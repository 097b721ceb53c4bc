"""``beian gate export-map``: the served set as an nginx ``map`` for providers who let nginx decide alone.

With the ``hostnames`` parameter an entry ``.example.com`` matches example.com and every subdomain;
``.gov.cn`` names are written exactly. The file is written to a temporary name and renamed, so nginx never
reads half a file. Use with ``map_hash_max_size 2097152; map_hash_bucket_size 256;`` (PERFORMANCE.md).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path

from beian.gate.follower import SERVED_SQL
from beian.gate.served import EXACT_ONLY


def feed_position() -> int:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT COALESCE(MAX(seq), 0) FROM beian_feed")
        return int(cur.fetchone()[0])


def write_map(path: Path, *, variable: str = "$beian_served") -> tuple[int, int]:
    """Write the map; returns (domains written, feed position it reflects)."""
    from django.db import connection

    position = feed_position()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".beian-map-")
    count = 0
    with os.fdopen(fd, "w", encoding="ascii") as out, connection.chunked_cursor() as cur:
        out.write(
            f"# beian served domains at feed position {position}; generated {time.strftime('%Y-%m-%d %H:%M:%S')}\n"
        )
        out.write(f"map $host {variable} {{\n    hostnames;\n    default 0;\n")
        cur.execute(SERVED_SQL)
        while rows := cur.fetchmany(50_000):
            for (name,) in rows:
                exact = name == EXACT_ONLY or name.endswith("." + EXACT_ONLY)
                out.write(f"    {name} 1;\n" if exact else f"    .{name} 1;\n")
                count += 1
        out.write("}\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
    return count, position


def watch(path: Path, *, reload_command: str, interval: float = 1.0, once: bool = False) -> None:
    """Rewrite the map and reload nginx whenever the feed moves."""
    last = -1
    while True:
        position = feed_position()
        if position != last:
            count, last = write_map(path)
            if reload_command:
                subprocess.run(reload_command, shell=True, check=False)  # noqa: S602 - the operator's own command
            print(f"map: {count} domains at feed position {last}", flush=True)
        if once:
            return
        time.sleep(interval)
