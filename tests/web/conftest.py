"""Fixtures of the page tests: users of every role, signed-in clients, and ``fetch`` which renders a page,
parses it and checks what every page must hold (a Content-Security-Policy without 'unsafe-inline', no
inline <script>, no inline event handler or style, a CSRF token in every POST form).

The HTML is parsed with the standard library into a small tree (``Node``) so that a test can say *where*
a text appears: beside a field (``#id_password-error``), in a disabled action's reason, in a table row.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.test import Client

from tests import factories as f

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Node:
    def __init__(self, tag: str, attrs: dict[str, str], parent: Node | None = None):
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[Node | str] = []

    def __repr__(self) -> str:
        return f"<{self.tag} {self.attrs}>"

    @property
    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())

    def text(self) -> str:
        """The text content, whitespace collapsed."""
        parts: list[str] = []

        def walk(node: Node) -> None:
            for child in node.children:
                if isinstance(child, str):
                    parts.append(child)
                elif child.tag == "br":
                    parts.append(" ")
                else:
                    walk(child)

        walk(self)
        return re.sub(r"\s+", " ", "".join(parts)).strip()

    def iter(self):
        for child in self.children:
            if isinstance(child, Node):
                yield child
                yield from child.iter()

    def find_all(self, tag: str | None = None, *, class_: str | None = None, **attrs) -> list[Node]:
        found = []
        for node in self.iter():
            if tag and node.tag != tag:
                continue
            if class_ and class_ not in node.classes:
                continue
            if any(node.attrs.get(k.rstrip("_").replace("_", "-")) != v for k, v in attrs.items()):
                continue
            found.append(node)
        return found

    def find(self, tag: str | None = None, **kwargs) -> Node | None:
        found = self.find_all(tag, **kwargs)
        return found[0] if found else None

    def by_id(self, ident: str) -> Node:
        node = self.find(id=ident)
        assert node is not None, f"no element #{ident}"
        return node

    def closest(self, tag: str) -> Node | None:
        node = self.parent
        while node is not None and node.tag != tag:
            node = node.parent
        return node


class _TreeBuilder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.current = self.root

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {k: (v if v is not None else "") for k, v in attrs}, self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(Node(tag, {k: (v or "") for k, v in attrs}, self.current))

    def handle_endtag(self, tag):
        node = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data):
        self.current.children.append(data)


def parse(html: str) -> Node:
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


def page_problems(response) -> list[str]:
    """What is wrong with an HTML response against the rules every page keeps."""
    problems = []
    csp = response.headers.get("Content-Security-Policy", "")
    if not csp:
        problems.append("no Content-Security-Policy header")
    if "unsafe-inline" in csp or "unsafe-eval" in csp:
        problems.append(f"CSP allows inline code: {csp}")
    if "script-src 'self'" not in csp:
        problems.append(f"CSP has no script-src 'self': {csp}")
    doc = parse(response.content.decode())
    for script in doc.find_all("script"):
        if "src" not in script.attrs:
            problems.append(f"inline <script>: {script.text()[:80]!r}")
        elif script.attrs["src"].startswith(("http:", "https:", "//")):
            problems.append(f"script from another origin: {script.attrs['src']}")
    for node in doc.iter():
        for name, value in node.attrs.items():
            if name.startswith("on"):
                problems.append(f"inline event handler {name} on <{node.tag}>")
            if name == "style":
                problems.append(f"inline style on <{node.tag}>: {value!r}")
            if name in ("href", "action", "formaction", "src") and value.strip().lower().startswith(
                "javascript:"
            ):
                problems.append(f"javascript: URL on <{node.tag}>")
    if doc.find("style") is not None:
        problems.append("inline <style> element")
    for form in doc.find_all("form"):
        post_form = form.attrs.get("method", "get").lower() == "post"
        if post_form and form.find("input", type="hidden", name="csrfmiddlewaretoken") is None:
            problems.append(f"POST form without CSRF token: action={form.attrs.get('action')!r}")
    return problems


class Page:
    """A rendered page: the response, its parsed tree and its text."""

    def __init__(self, response):
        self.response = response
        self.status = response.status_code
        self.html = response.content.decode()
        self.doc = parse(self.html)
        self.text = self.doc.text()

    def field_error(self, name: str) -> str:
        """The error list rendered beside the form field ``name`` (``<ul id="id_<name>-error">``)."""
        node = self.doc.find(id=f"id_{name}-error")
        return node.text() if node is not None else ""

    def links(self) -> list[str]:
        return [a.attrs.get("href", "") for a in self.doc.find_all("a")]

    def csrf_token(self) -> str:
        node = self.doc.find("input", name="csrfmiddlewaretoken")
        assert node is not None, "no CSRF token on the page"
        return node.attrs["value"]


def fetch(
    client: Client, url: str, data: dict | None = None, *, status: int = 200, method: str | None = None
) -> Page:
    """GET (or POST when ``data`` is given) ``url``; assert the status and the rules every page keeps."""
    method = method or ("post" if data is not None else "get")
    response = getattr(client, method)(url, data or {})
    assert response.status_code == status, (
        f"{method.upper()} {url}: {response.status_code} != {status}\n{response.content.decode()[:3000]}"
    )
    page = Page(response)
    if response.headers.get("Content-Type", "").startswith("text/html"):
        problems = page_problems(response)
        assert not problems, f"{url}: {problems}"
    return page


def post(client: Client, url: str, data: dict, *, status: int = 302) -> str:
    """POST a form; assert the status (a redirect by default) and return the redirect target."""
    response = client.post(url, data)
    assert response.status_code == status, (
        f"POST {url}: {response.status_code} != {status}\n{response.content.decode()[:3000]}"
    )
    return response.headers.get("Location", "")


def signed_in(user, **kwargs) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


@pytest.fixture
def owner(db):
    return f.user()


@pytest.fixture
def stranger(db):
    return f.user()


@pytest.fixture
def provider(db):
    return f.user(role="provider_reviewer")


@pytest.fixture
def bureau_11(db):
    return f.user(role="bureau_reviewer", province="11")


@pytest.fixture
def bureau_43(db):
    return f.user(role="bureau_reviewer", province="43")


@pytest.fixture
def bureau_44(db):
    return f.user(role="bureau_reviewer", province="44")


@pytest.fixture
def subject(owner):
    """The owner's Beijing subject: website -1 is a legacy website with three domains (one on the unapproved
    .io), website -2 has one domain."""
    return f.filed_subject(owner, domains_per_site=(["alpha.cn", "alpha.net", "alpha.io"], ["beta.cn"]))


@pytest.fixture
def site1(subject):
    return subject.websites.get(sequence=1)


@pytest.fixture
def site2(subject):
    return subject.websites.get(sequence=2)


@pytest.fixture
def client_owner(owner):
    return signed_in(owner)


@pytest.fixture
def client_stranger(stranger):
    return signed_in(stranger)


@pytest.fixture
def client_provider(provider):
    return signed_in(provider)


@pytest.fixture
def client_bureau_11(bureau_11):
    return signed_in(bureau_11)


@pytest.fixture
def client_bureau_43(bureau_43):
    return signed_in(bureau_43)


@pytest.fixture
def client_bureau_44(bureau_44):
    return signed_in(bureau_44)
