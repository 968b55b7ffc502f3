"""Fixtures for installer tests: disk-image files, the plugin bundle on a local HTTP server that also
records reports, kickstarts assembled from the real graph compiler's output for the site-profile examples."""

from __future__ import annotations

import http.server
import json
import re
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from installer_plugin import bundle, kickstart
from ksserver.graph import GraphLibrary, KickstartCompiler, Source, stock_nodes_dir
from tests.graph.conftest import base_attrs
from tests.installer_plugin.sim import Simulator

REPO = Path(__file__).resolve().parents[2]
SITE_PROFILES = REPO / "site-profiles"
GIB = 1 << 30


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        path = self.server.files.get(self.path.split("?")[0])  # type: ignore[attr-defined]
        if path is None:
            self.send_error(404)
            return
        data = Path(path).read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.posts.append((self.path, json.loads(body)))  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


class Frontend:
    """Serves the bundle and records the installer's POSTs: a stand-in for ksserver's web app in the installer
    unit cases. test_server_workflow.py runs the same installs against the real `ksserver serve`."""

    def __init__(self, root: Path) -> None:
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.files = {"/install/plugin/" + bundle.BUNDLE_NAME: str(bundle.build(root))}
        self.httpd.posts = []
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def posts(self) -> list:
        return self.httpd.posts

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def frontend(tmp_path: Path):
    server = Frontend(tmp_path / "dist")
    yield server
    server.close()


@pytest.fixture
def make_disk(tmp_path: Path) -> Callable[..., Path]:
    def _make(name: str, gib: int = 16) -> Path:
        path = tmp_path / "disks" / (name + ".img")
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as f:
            f.truncate(gib * GIB)
        return path
    return _make


@pytest.fixture
def sim(tmp_path: Path) -> Callable[[dict], Simulator]:
    return lambda disks: Simulator(tmp_path / "sandbox", disks)


def site_pre(variant: str | None, tmp_path: Path, hostname: str = "compute-0-0") -> str:
    """The site's partitioning %pre as the real graph compiler renders it for ``hostname``."""
    site = tmp_path / "site-profile"
    shutil.rmtree(site, ignore_errors=True)
    (site / "nodes").mkdir(parents=True)
    if variant:
        shutil.copy(SITE_PROFILES / variant, site / "nodes/replace-partition.xml")
    lib = GraphLibrary.load([Source(stock_nodes_dir(), "stock"), Source(site, "site")])
    text = KickstartCompiler(lib).kickstart("compute", base_attrs(hostname=hostname), None)
    sections = re.findall(r"^(%pre\b[^\n]*\n# nodes/(?:replace-)?partition\.xml:.*?^%end\n)", text,
                          re.DOTALL | re.MULTILINE)
    assert len(sections) == 1, text
    return sections[0]


def user_pre(text: str) -> str:
    """A site %pre that writes ``text`` to /tmp/user_partition_info (echo, as in the talk's Example 1)."""
    return "%%pre\ncat > /tmp/user_partition_info << 'EOF'\n%sEOF\n%%end\n" % text


@pytest.fixture
def build_ks(frontend: Frontend) -> Callable[..., str]:
    def _build(site: str, db_info: str | None = None, token: str = "t0k3n") -> str:
        parts = [kickstart.bootstrap_pre(frontend.url + "/install/plugin/" + bundle.BUNDLE_NAME)]
        if db_info is not None:
            parts.append(kickstart.db_info_pre(db_info))
        parts += [site, kickstart.decide_pre(frontend.url, token), kickstart.INCLUDE,
                  kickstart.report_post(frontend.url, token)]
        return "\n".join(parts)
    return _build
