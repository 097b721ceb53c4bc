"""End to end with real nginx: each documented configuration (docs/nginx/beian-gate.conf and
beian-gate-lua.conf) in front of a hosting backend, asking the gate.

Processes: `beian gate serve` and `beian serve` (the API that approves orders) on one demo database, a
stand-in hosting backend (200 and the Host it served), and nginx running the documented configuration with
only its ports and paths replaced. A filed domain is served, an unfiled one gets the block page; a
cancellation approved through the API blocks within 2 s and a new filing of the freed domain, approved by the
provider and the bureau, serves within 2 s (the gate's lag plus nginx's 1 s cache of its answers).
"""

from __future__ import annotations

import os
import time
from types import SimpleNamespace

import pytest

from tests import factories as f
from tests.gate.processes import (
    LUA_MODULES,
    NGINX,
    NGINX_MODULES,
    PYTHON,
    REPO,
    Backend,
    Nginx,
    Process,
    adapt,
    free_port,
    gate_starter,
    http_get,
    http_json,
    nginx_main_conf,
    nginx_test,
    wait_for,
)

BLOCK_TEXT = "该网站暂时无法访问"
API = "/api/v1"


CONFIGS = {
    # auth_request with a 1 s proxy_cache of the gate's answers
    "beian-gate.conf": (),
    # decisions kept in nginx's memory, voided by the gate's version (the fast one)
    "beian-gate-lua.conf": LUA_MODULES,
}


@pytest.fixture(scope="module", params=list(CONFIGS))
def stack(request, demo_template, tmp_path_factory):
    config, modules = request.param, CONFIGS[request.param]
    if not os.path.exists(NGINX):
        pytest.skip(f"the end-to-end test needs nginx at {NGINX}: apt-get install -y nginx (CI installs it)")
    missing = [m for m in modules if not (NGINX_MODULES / m).exists()]
    if missing:
        pytest.skip(
            f"{config} needs {', '.join(missing)}: apt-get install -y libnginx-mod-http-lua (CI installs it)"
        )
    root = tmp_path_factory.mktemp("e2e")
    db = demo_template.copy("e2e")
    backend = Backend()
    web = nginx = None
    with gate_starter(root) as start_gate:
        try:
            gate = start_gate(db)
            web_port = free_port()
            web = Process("web", [PYTHON, "-m", "beian", "serve", "--port", str(web_port)], db.env, root)
            gate.wait_ready()
            took = wait_for(lambda: http_get(web_port, "/healthz")[0] < 500, 60, step=0.1)
            assert took is not None, f"beian serve did not start:\n{web.output()}"

            share = root / "share"
            share.mkdir()
            (share / "beian-blocked.html").write_bytes((REPO / "docs/nginx/beian-blocked.html").read_bytes())
            port = free_port()
            replacements = {
                "listen 80 default_server;": f"listen 127.0.0.1:{port} default_server;",
                "server 127.0.0.1:8090;": f"server 127.0.0.1:{gate.port};",
                "server 127.0.0.1:8080;": f"server 127.0.0.1:{backend.port};",
            }
            if modules:  # the version poller; the block page is in the configuration
                replacements['"127.0.0.1", 8090'] = f'"127.0.0.1", {gate.port}'
            else:  # the cache of the gate's answers; the block page is a file
                replacements["/dev/shm/beian-gate"] = str(root / "cache")
                replacements["root /usr/share/beian;"] = f"root {share};"
            site = adapt((REPO / "docs/nginx" / config).read_text("utf-8"), replacements)
            (root / config).write_text(site, "utf-8")
            conf = nginx_main_conf(root, root / config, modules=modules)
            checked = nginx_test(conf, root)
            assert checked.returncode == 0, checked.stderr
            nginx = Nginx(conf, root, port)
            tokens = {name: cred["token"] for name, cred in db.credentials["users"].items()}
            yield SimpleNamespace(
                config=config,
                db=db,
                gate=gate,
                web_port=web_port,
                nginx=nginx,
                backend=backend,
                tokens=tokens,
                root=root,
            )
        finally:
            if nginx is not None:
                nginx.stop()
            if web is not None:
                web.stop()
            backend.stop()


def api(stack, method: str, path: str, body=None, *, user: str, expect: int = 200):
    status, data = http_json(stack.web_port, method, API + path, body, token=stack.tokens[user])
    assert status == expect, (method, path, status, data)
    return data


def website_id(stack, number: str, *, user: str = "applicant") -> int:
    subject_number = number.rsplit("-", 1)[0]
    subjects = api(stack, "GET", "/subjects", user=user)
    subject = next(s for s in subjects if s["number"] == subject_number)
    detail = api(stack, "GET", f"/subjects/{subject['id']}", user=user)
    return next(w["id"] for w in detail["websites"] if w["number"] == number)


def served_through_nginx(stack, host: str) -> bool:
    status, _, body = stack.nginx.get(host)
    if status == 200:
        assert body.decode() == f"hosted site: {host}\n", body
        return True
    assert status == 403, (host, status, body[:200])
    assert BLOCK_TEXT in body.decode("utf-8"), body[:200]
    return False


def test_filed_served_unfiled_blocked_with_the_block_page(stack):
    status, headers, body = stack.nginx.get("yunzhan-docs.cn")
    assert status == 200, stack.nginx.error_log()
    assert body.decode() == "hosted site: yunzhan-docs.cn\n"

    # the first answer is the gate's, the second one (beian-gate-lua.conf) from nginx's memory; that
    # configuration keeps its own copy of the page, which must stay the published one
    page = (REPO / "docs/nginx/beian-blocked.html").read_bytes()
    for attempt in ("asked", "kept"):
        status, headers, body = stack.nginx.get("unfiled-example.cn")
        assert status == 403, attempt
        assert headers.get("Content-Type", "").startswith("text/html"), (attempt, headers)
        assert BLOCK_TEXT in body.decode("utf-8"), attempt
        assert body == page, f"{attempt}: the block page differs from docs/nginx/beian-blocked.html"

    assert stack.nginx.get("www.yunzhan-docs.cn")[0] == 200  # a subdomain of a filed domain
    assert stack.nginx.get("a.b.lushan-edu.cn")[0] == 200
    assert stack.nginx.get("xn--9cvu8xwzh7jr.xn--fiqs8s")[0] == 200  # 敦煌笔记.中国
    assert stack.nginx.get("XiaoLu-Shop.COM")[0] == 200


@pytest.mark.parametrize(
    "host",
    [
        "xixi-culture.cn",  # cancelled in the demo (a shell subject)
        "127.0.0.1",  # IP literal
        "notyunzhan-docs.cn",
        "yunzhan-docs.cn.evil.example",
        "evil.example@yunzhan-docs.cn",  # not a host name: blocked, never read as the filed name after @
    ],
)
def test_blocked_hosts(stack, host):
    status, _, body = stack.nginx.get(host)
    assert status in (400, 403), (host, status)
    if status == 403:
        assert BLOCK_TEXT in body.decode("utf-8")


@pytest.mark.parametrize("path", ["/?host=yunzhan-docs.cn", "/check?host=yunzhan-docs.cn", "/_beian_check"])
def test_request_paths_and_queries_do_not_reach_the_gate_decision(stack, path):
    """The gate answers ``/check?…`` with 200 JSON (an explanation), and auth_request takes any 2xx as
    "allow": the client's path and query must never reach the auth subrequest."""
    status, _, body = stack.nginx.get("unfiled-example.cn", path)
    if path == "/_beian_check":
        assert status == 404, status  # internal: not reachable from outside
    else:
        assert status == 403, (path, status, body[:200])
        assert BLOCK_TEXT in body.decode("utf-8")


def test_auth_cache_takes_repeated_hosts_off_the_gate(stack):
    """beian-gate.conf caches the gate's answer for 1 s per host, beian-gate-lua.conf until the served set
    changes: a burst for one host reaches the gate about once (PERFORMANCE.md: the cache is what makes asking
    the gate affordable)."""
    key = 'beian_gate_decisions_total{result="served"}'
    assert stack.nginx.get("lushan-edu.cn")[0] == 200
    before = stack.gate.metrics()[key]
    started = time.monotonic()
    for _ in range(30):
        assert stack.nginx.get("lushan-edu.cn")[0] == 200
    elapsed = time.monotonic() - started
    asked = stack.gate.metrics()[key] - before
    assert asked <= 2 + elapsed, f"30 requests in {elapsed:.2f} s reached the gate {asked:.0f} times"


def test_cancellation_blocks_and_new_filing_serves_within_two_seconds(stack):
    domain = "yunzhan.com.cn"
    assert served_through_nginx(stack, domain)
    assert served_through_nginx(stack, "www." + domain)

    # 注销网站 through the API: the applicant confirms with the filing password, the bureau approves
    website = website_id(stack, "京ICP备11018762号-1")
    order = api(
        stack,
        "POST",
        "/orders",
        {
            "kind": "cancel_website",
            "website": website,
            "password": stack.db.credentials["filing_passwords"]["京ICP备11018762号"],
            "acknowledge_irreversible": True,  # yunzhan.io is on a TLD MIIT did not approve
            "reason": "网站停止运营",
        },
        user="applicant",
        expect=201,
    )
    assert order["state"] == "bureau_review", order
    approved = api(stack, "POST", f"/reviews/{order['id']}/approve", {}, user="bureau-11")
    assert approved["state"] == "approved"
    took = wait_for(lambda: not served_through_nginx(stack, domain), 5.0, step=0.02)
    assert took is not None, f"{domain} still served 5 s after the cancellation was approved"
    assert took < 2.0, f"blocked only {took:.2f} s after the approval"
    assert not served_through_nginx(stack, "www." + domain)
    assert not served_through_nginx(stack, "yunzhan.net")
    assert served_through_nginx(stack, "yunzhan-docs.cn")  # the subject's other website

    # 首次备案 of the freed domain by another applicant, approved by the provider and the bureau
    body = f.new_filing_body(domain=domain, province="11", n=880001)
    filing = api(stack, "POST", "/orders", body, user="applicant2", expect=201)
    assert filing["state"] == "provider_review", filing
    assert not served_through_nginx(stack, domain)  # submitted is not served
    assert (
        api(stack, "POST", f"/reviews/{filing['id']}/approve", {}, user="provider")["state"]
        == "bureau_review"
    )
    assert not served_through_nginx(stack, domain)
    assert api(stack, "POST", f"/reviews/{filing['id']}/approve", {}, user="bureau-11")["state"] == "approved"
    took = wait_for(lambda: served_through_nginx(stack, domain), 5.0, step=0.02)
    assert took is not None, f"{domain} still blocked 5 s after the new filing was approved"
    assert took < 2.0, f"served only after {took:.2f} s"
    assert served_through_nginx(stack, "shop." + domain)
    assert not served_through_nginx(stack, "yunzhan.net")  # not part of the new filing

    _, health = stack.gate.health()
    assert health["status"] == "ok" and health["position"] == stack.db.feed_position()


def test_with_the_gate_down(stack):
    """beian-gate-lua.conf is fail-static like the gate: with the gate gone, hosts decided before keep their
    decision (served or blocked). beian-gate.conf has nothing to stand on once its 1 s cache expires:
    auth_request answers 500. Either way a host never decided gets 500. Runs last: it stops the gate."""
    assert served_through_nginx(stack, "lushan-edu.cn")
    assert not served_through_nginx(stack, "unfiled-example.cn")
    stack.gate.process.stop()
    time.sleep(2.5)  # the polled version (Lua) and the cached answers (auth_request) expire
    if stack.config == "beian-gate-lua.conf":
        assert served_through_nginx(stack, "lushan-edu.cn")
        assert not served_through_nginx(stack, "unfiled-example.cn")
    else:
        assert stack.nginx.get("lushan-edu.cn")[0] == 500
        assert stack.nginx.get("unfiled-example.cn")[0] == 500
    assert stack.nginx.get("never-asked-before.cn")[0] == 500
    if stack.config != "beian-gate-lua.conf":
        return
    # The gate back without its database: it answers 403 to everything (fail-closed at a cold start) with no
    # version of a set. That is no decision about a host: the ones decided before keep their last decision.
    env = {**stack.db.env, "BEIAN_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/unreachable"}
    argv = [PYTHON, "-m", "beian", "gate", "serve", "--port", str(stack.gate.port)]
    cold = Process("gate-cold", argv, env, stack.root)
    try:
        assert wait_for(
            lambda: http_get(stack.gate.port, "/check", headers={"X-Original-Host": "a.cn"})[0] == 403, 30
        )
        assert served_through_nginx(stack, "lushan-edu.cn")
        assert served_through_nginx(stack, "lushan-edu.cn")  # and its last decision was not replaced
        assert not served_through_nginx(stack, "unfiled-example.cn")
        assert stack.nginx.get("first-seen-now.cn")[0] == 403  # nothing to stand on: the gate's own answer
    finally:
        cold.stop()
