"""`beian gate serve` and `beian gate export-map` as real processes against a demo database.

The gate is started as an operator would (`python -m beian gate serve --port N`), waited for on /healthz,
asked over HTTP, and must see a cancellation approved by another process within a second. The exported
nginx map is checked for content and accepted by `nginx -t` in the documented configuration.
"""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.gate.processes import (
    PYTHON,
    REPO,
    DemoDatabase,
    Nginx,
    Process,
    adapt,
    base_env,
    free_port,
    http_get,
    nginx_main_conf,
    nginx_test,
    wait_for,
)

DEMO_SERVED = {
    "yunzhan.com.cn",
    "yunzhan.net",
    "yunzhan.io",
    "yunzhan-docs.cn",
    "xiaolu-shop.com",
    "xn--9cvu8xwzh7jr.xn--fiqs8s",  # 敦煌笔记.中国
    "lushan-edu.cn",
}
IDN = "xn--9cvu8xwzh7jr.xn--fiqs8s"

# Cancel a website through the engine in the gate's database, as the web service would; print the time
# of the commit (cheap hashes, as in the rest of the suite).
CANCEL_WEBSITE = """
import json, os, sys, time
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "beian.web.settings")
import django
django.setup()
from argon2 import PasswordHasher
from beian.accounts.services import user_by_username
from beian.orders import services, verification
from beian.orders.workflow import Action, move
from beian.registry.models import Website
from beian.web import config
verification.hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
site = Website.objects.select_related("subject__owner").get(number=sys.argv[1])
passwords = json.loads((config.home() / "demo-credentials.json").read_text("utf-8"))["filing_passwords"]
order = services.cancel_website_submit(
    actor=site.subject.owner, website=site, password=passwords[site.subject.number],
    acknowledge_irreversible=True,
)
move(order.pk, Action.BUREAU_APPROVE, actor=user_by_username("bureau-" + site.subject.province))
print(time.time())
"""


@pytest.fixture(scope="module")
def gate(module_demo_db, module_start_gate):
    """One gate for the tests that only ask it questions."""
    gate = module_start_gate(module_demo_db)
    gate.wait_ready()
    return gate


def test_gate_process_serves_the_demo_filings(gate, module_demo_db):
    status, health = gate.health()
    assert status == 200
    assert health["status"] == "ok" and health["loaded"] and not health["degraded"]
    assert health["size"] == len(DEMO_SERVED)
    assert health["position"] == module_demo_db.feed_position()
    assert health["fail_open"] is False
    for host in ["yunzhan.com.cn", "www.yunzhan.com.cn", "YunZhan.Net", "yunzhan.io", "lushan-edu.cn", IDN]:
        assert gate.check(host) == 204, host
    assert gate.check("www." + IDN) == 204
    for host in ["unfiled-example.cn", "xixi-culture.cn", "yunzhan.com", "127.0.0.1", "[::1]", "a..b"]:
        assert gate.check(host) == 403, host
    # without X-Original-Host the Host header decides
    assert http_get(gate.port, "/check", host="www.yunzhan.com.cn")[0] == 204
    assert http_get(gate.port, "/check", host="unfiled-example.cn")[0] == 403
    assert http_get(gate.port, "/check", host="127.0.0.1")[0] == 403


def test_gate_process_explains_in_json(gate):
    status, headers, body = http_get(gate.port, "/check?host=" + quote("www.敦煌笔记.中国"))
    assert status == 200 and headers["content-type"].startswith("application/json")
    data = json.loads(body)
    assert data["served"] is True and data["matched"] == IDN and data["normalized"] == "www." + IDN
    data = json.loads(http_get(gate.port, "/check?host=xixi-culture.cn")[2])
    assert data["served"] is False and data["matched"] is None


def test_gate_process_metrics(gate):
    gate.check("yunzhan.com.cn")
    gate.check("unfiled-example.cn")
    gate.check("10.1.1.1")
    m = gate.metrics()
    assert m["beian_gate_domains"] == len(DEMO_SERVED)
    assert m['beian_gate_decisions_total{result="served"}'] >= 1
    assert m['beian_gate_decisions_total{result="blocked"}'] >= 1
    assert m['beian_gate_decisions_total{result="invalid"}'] >= 1
    assert m["beian_gate_degraded"] == 0 and m["beian_gate_reloads_total"] == 1


def test_cancellation_blocks_within_a_second(demo_db, start_gate):
    gate = start_gate(demo_db)
    gate.wait_ready()
    assert gate.check("yunzhan-docs.cn") == 204
    assert gate.check("www.yunzhan-docs.cn") == 204
    committed_at = float(demo_db.python(CANCEL_WEBSITE, "京ICP备11018762号-2").strip())
    took = wait_for(lambda: gate.check("yunzhan-docs.cn") == 403, 3.0, step=0.01)
    blocked_after = time.time() - committed_at
    assert took is not None, f"still served 3 s after the cancellation:\n{gate.process.output()}"
    assert blocked_after < 1.0, f"blocked {blocked_after:.2f} s after the commit (limit 1 s)"
    assert gate.check("www.yunzhan-docs.cn") == 403
    assert gate.check("yunzhan.com.cn") == 204  # the subject's other website is untouched
    _, health = gate.health()
    assert health["size"] == len(DEMO_SERVED) - 1
    assert health["position"] == demo_db.feed_position()


@pytest.mark.parametrize("server", ["asyncio", "granian"])
def test_both_servers_answer_alike_and_stop_cleanly_on_sigterm(module_demo_db, start_gate, server):
    """The default server (the gate's own, asyncio) and granian (``--server granian``) give the same answers
    and stop on SIGTERM, as a service manager sends it, with status 0."""
    gate = start_gate(module_demo_db, "--server", server)
    gate.wait_ready()
    assert f"({server})" in gate.process.output()
    assert gate.check("www.yunzhan.com.cn") == 204
    assert gate.check("unfiled-example.cn") == 403
    status, headers, body = http_get(gate.port, "/check?host=yunzhan.io")
    assert status == 200 and json.loads(body)["matched"] == "yunzhan.io"
    status, headers, _ = http_get(gate.port, "/check", headers={"X-Original-Host": "yunzhan.io"})
    assert status == 204
    assert headers["x-beian-version"] == http_get(gate.port, "/version")[2].decode()
    assert headers["x-accel-expires"].startswith("@")
    gate.process.stop(timeout=8)
    assert gate.process.proc.returncode == 0, gate.process.output()


def test_a_taken_port_is_a_clear_error(module_demo_db, start_gate):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        gate = start_gate(module_demo_db, "--port", str(port))  # the last --port wins
        assert wait_for(lambda: not gate.process.alive(), 20, step=0.05) is not None, gate.process.output()
    assert gate.process.proc.returncode != 0
    assert "cannot listen there" in gate.process.output()


def test_cold_start_without_database_fails_closed(tmp_path, start_gate, demo_db):
    if demo_db.vendor == "postgresql":  # nothing listens on that port
        url = f"postgresql://postgres@127.0.0.1:{free_port()}/beian"
    else:
        url = f"sqlite:///{tmp_path}/no/such/dir/db.sqlite3"
    db = DemoDatabase(home=demo_db.home, url=url, env={**demo_db.env, "BEIAN_DATABASE_URL": url})
    closed = start_gate(db)
    opened = start_gate(db, "--fail-open")
    for g in (closed, opened):
        took = wait_for(lambda g=g: g.health()[0] == 503, 20, step=0.05)
        assert took is not None, g.process.output()
        status, health = g.health()
        assert health["status"] == "loading" and health["loaded"] is False and health["size"] == 0
    assert closed.check("yunzhan.com.cn") == 403
    assert opened.check("yunzhan.com.cn") == 204
    assert opened.check("127.0.0.1") == 403
    assert opened.health()[1]["fail_open"] is True


# -- export-map -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def exported(module_demo_db, tmp_path_factory) -> Path:
    """`beian gate export-map --output FILE` run once on the demo database."""
    path = tmp_path_factory.mktemp("map") / "maps" / "beian-served.map"
    out = module_demo_db.beian("gate", "export-map", "--output", str(path))
    assert f"wrote {len(DEMO_SERVED)} domains" in out, out
    return path


def test_export_map_writes_the_served_set(exported, module_demo_db):
    text = exported.read_text("ascii")
    position = module_demo_db.feed_position()
    assert text.startswith(f"# beian served domains at feed position {position};")
    body = text.split("\n", 1)[1]
    assert body.startswith("map $host $beian_served {\n    hostnames;\n    default 0;\n")
    assert body.endswith("}\n")
    entries = [line.strip() for line in body.splitlines()[3:-1]]
    assert sorted(entries) == sorted(f".{name} 1;" for name in DEMO_SERVED)
    assert "    .yunzhan.com.cn 1;\n" in text
    assert "xixi-culture.cn" not in text  # cancelled
    assert not list(exported.parent.glob(".beian-map-*")), "a temporary file was left behind"


@pytest.mark.django_db
def test_export_map_writes_gov_cn_names_exactly(tmp_path):
    """In process, on the test database: a .gov.cn name is written exactly (no leading dot)."""
    from beian.gate.models import FeedEntry
    from beian.gate.nginx_map import write_map
    from tests import factories as f

    owner = f.quick_user()
    f.filed_subject_sites(owner, [{"domains": ["www.foo.gov.cn"]}, {"domains": ["bar.gov.cn"]}])
    f.filed_subject_sites(owner, [{"domains": ["www.example-gov.cn"]}])
    count, position = write_map(tmp_path / "m.map")
    lines = (tmp_path / "m.map").read_text("ascii").splitlines()
    assert count == 3 and position == FeedEntry.objects.order_by("-seq").first().seq
    assert {"    www.foo.gov.cn 1;", "    bar.gov.cn 1;", "    .example-gov.cn 1;"} <= set(lines)
    assert not any(
        line.strip().startswith(".") and "gov.cn" in line and "example" not in line for line in lines
    )


def test_exported_map_in_the_documented_nginx_config(exported, tmp_path, nginx_required, backend):
    root = tmp_path / "nginx"
    root.mkdir()
    map_file = exported
    share = root / "share"
    share.mkdir()
    (share / "beian-blocked.html").write_bytes((REPO / "docs/nginx/beian-blocked.html").read_bytes())
    port = free_port()
    site = adapt(
        (REPO / "docs/nginx/beian-map.conf").read_text("utf-8"),
        {
            "/etc/nginx/beian-served.map": str(map_file),
            "listen 80 default_server;": f"listen 127.0.0.1:{port} default_server;",
            "root /usr/share/beian;": f"root {share};",
            "http://127.0.0.1:8080": f"http://127.0.0.1:{backend.port}",
        },
    )
    (root / "beian-map.conf").write_text(site, "utf-8")
    conf = nginx_main_conf(root, root / "beian-map.conf")
    result = nginx_test(conf, root)
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr

    nginx = Nginx(conf, root, port)
    try:
        for host in ["yunzhan.com.cn", "www.yunzhan.com.cn", "a.b.yunzhan.net", IDN, "www." + IDN]:
            status, _, body = nginx.get(host)
            assert status == 200, (host, status, nginx.error_log())
            assert body.decode() == f"hosted site: {host}\n"
        for host in ["unfiled-example.cn", "xixi-culture.cn", "127.0.0.1", "notyunzhan.com.cn"]:
            status, _, body = nginx.get(host)
            assert status == 403, host
            assert "该网站暂时无法访问" in body.decode("utf-8"), host
    finally:
        nginx.stop()


def test_export_map_watch_rewrites_when_the_feed_moves(demo_db, tmp_path):
    path = tmp_path / "watched.map"
    marker = tmp_path / "reloads"
    watch = Process(
        "export-map-watch",
        [
            PYTHON,
            "-m",
            "beian",
            "gate",
            "export-map",
            "--output",
            str(path),
            "--watch",
            "--interval",
            "0.1",
            "--reload-command",
            f"echo reload >> {marker}",
        ],
        {**base_env(), **demo_db.env},
        tmp_path,
    )
    try:
        assert wait_for(lambda: marker.exists(), 20, step=0.05) is not None, watch.output()
        assert ".yunzhan-docs.cn 1;" in path.read_text("ascii")
        demo_db.python(CANCEL_WEBSITE, "京ICP备11018762号-2")
        took = wait_for(lambda: ".yunzhan-docs.cn" not in path.read_text("ascii"), 5, step=0.05)
        assert took is not None, watch.output()
        assert wait_for(lambda: marker.read_text().count("reload") == 2, 2) is not None
        assert ".yunzhan.com.cn 1;" in path.read_text("ascii")
    finally:
        watch.stop()
