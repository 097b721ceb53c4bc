"""Fixtures of the gate's process and nginx tests (the helpers are in ``tests.gate.processes``)."""

from __future__ import annotations

import os

import pytest

from tests.gate.processes import NGINX, Backend, DemoDatabase, Template, gate_starter


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory):
    template = Template(tmp_path_factory.mktemp("gate-demo"))
    try:
        yield template
    finally:
        template.drop()


@pytest.fixture
def demo_db(demo_template) -> DemoDatabase:
    """A fresh copy of the demo database, for one test."""
    return demo_template.copy("db")


@pytest.fixture(scope="module")
def module_demo_db(demo_template) -> DemoDatabase:
    """A copy of the demo database shared by a module's tests that do not change it."""
    return demo_template.copy("module-db")


@pytest.fixture
def start_gate(tmp_path):
    with gate_starter(tmp_path) as start:
        yield start


@pytest.fixture(scope="module")
def module_start_gate(tmp_path_factory):
    with gate_starter(tmp_path_factory.mktemp("gates")) as start:
        yield start


@pytest.fixture
def backend():
    server = Backend()
    yield server
    server.stop()


@pytest.fixture
def nginx_required():
    if not os.path.exists(NGINX):
        pytest.skip(f"needs nginx at {NGINX}: apt-get install -y nginx (CI installs it)")
    return NGINX
