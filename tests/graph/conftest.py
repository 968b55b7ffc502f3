"""Fixtures for the graph compiler tests: host attributes, small node trees, validation."""

from __future__ import annotations

import os
import textwrap
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from pykickstart.parser import KickstartParser
from pykickstart.version import makeVersion

from ksserver.graph import GraphLibrary, KickstartCompiler, Source, stock_nodes_dir

REPO = Path(__file__).resolve().parents[2]
CRYPT = "$6$rounds=5000$saltsalt$Qk1Hq0eBzlmbs3.EHLqvw2ZkMdwq7f1T6Ngx1l2x.wH9pQ2z6mJ2/3mVXbUuJ0f2Gk9uIg3Ll0u4aWkJxj7V1/"


def base_attrs(**overrides: str) -> dict[str, str]:
    """A realistic attribute set, as the inventory supplies it for one host."""
    attrs = {
        "hostname": "compute-0-0", "membership": "Compute", "appliance": "compute",
        "rack": "0", "rank": "0", "cpus": "4", "arch": "x86_64", "os": "linux",
        "hostaddr": "10.1.255.254", "ksmac": "52:54:00:12:34:56", "netmask": "255.255.0.0",
        "distribution": "rocks-dist", "graph": "default", "root": "compute",
        "ks_version": "RHEL9", "version": "0.1.0",
        "Info_ClusterName": "Test Cluster", "Kickstart_Lang": "en_US.UTF-8",
        "Kickstart_Keyboard": "us", "Kickstart_Timezone": "Etc/UTC",
        "Kickstart_PrivateRootPassword": CRYPT,
        "Kickstart_PrivateKickstartHost": "10.1.1.1", "Kickstart_PrivateInstallHost": "10.1.1.1:81",
        "Kickstart_PrivateKickstartBasedir": "install",
        "Kickstart_PrivateAddress": "10.1.1.1", "Kickstart_PrivateHostname": "frontend",
        "Kickstart_PrivateNetwork": "10.1.0.0", "Kickstart_PrivateNetmask": "255.255.0.0",
        "Kickstart_PrivateNetmaskCIDR": "16", "Kickstart_PrivateBroadcast": "10.1.255.255",
        "Kickstart_PrivateGateway": "10.1.1.1", "Kickstart_PrivateDNSDomain": "local",
        "Kickstart_PrivateDNSServers": "10.1.1.1", "Kickstart_PrivateNTPHost": "10.1.1.1",
        "Kickstart_PrivateSyslogHost": "10.1.1.1", "Kickstart_PrivateInterface": "eth0",
        "Kickstart_PublicHostname": "frontend.example.org", "Kickstart_PublicAddress": "192.0.2.10",
        "Kickstart_PublicNetwork": "192.0.2.0", "Kickstart_PublicNetmask": "255.255.255.0",
        "Kickstart_PublicNetmaskCIDR": "24", "Kickstart_PublicBroadcast": "192.0.2.255",
        "Kickstart_PublicGateway": "192.0.2.1", "Kickstart_PublicDNSDomain": "example.org",
        "Kickstart_PublicDNSServers": "192.0.2.1", "Kickstart_PublicNTPHost": "pool.ntp.org",
        "Kickstart_PublicKickstartHost": "192.0.2.10", "Kickstart_PublicSyslogHost": "192.0.2.10",
        "Kickstart_PublicInterface": "eth1", "Kickstart_DistroDir": "/export/rocks",
        "ssh_use_dns": "true", "x11": "false", "kickstartable": "true",
    }
    attrs.update(overrides)
    return attrs


_CHECK_LOCK = threading.Lock()  # catch_warnings is process-wide: one check at a time


def independent_check(text: str, version: str = "RHEL9") -> None:
    """Validate with a fresh pykickstart handler, as ksvalidator does (warnings are errors)."""
    import warnings

    from pykickstart.errors import KickstartDeprecationWarning, KickstartParseWarning

    parser = KickstartParser(makeVersion(version), followIncludes=False)
    with _CHECK_LOCK, warnings.catch_warnings():
        warnings.simplefilter("error", KickstartParseWarning)
        warnings.simplefilter("error", KickstartDeprecationWarning)
        parser.readKickstartFromString(text)


@pytest.fixture
def attrs() -> Callable[..., dict[str, str]]:
    return base_attrs


@pytest.fixture
def ks_valid() -> Callable[..., None]:
    return independent_check


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    """write("site/nodes/x.xml", text): create a file under tmp_path (text dedented)."""

    def _write(relpath: str, text: str) -> Path:
        path = tmp_path / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
        return path

    return _write


@pytest.fixture
def tree(tmp_path: Path, write: Callable[[str, str], Path]) -> Callable[..., GraphLibrary]:
    """tree(nodes={"a": "<kickstart>..</kickstart>"}, graph="<edge .../>"): a one-source library.

    Node bodies and graph bodies may omit the root element: a body not starting with "<?"
    or "<kickstart"/"<graph" is wrapped.
    """
    counter = {"n": 0}

    def _tree(nodes: dict[str, str], graph: str = "", extra: list[Source] | None = None,
              name: str | None = None) -> GraphLibrary:
        counter["n"] += 1
        root = name or f"src{counter['n']}"
        for node, body in nodes.items():
            body = textwrap.dedent(body).strip()
            if not body.startswith(("<?", "<kickstart", "<jumpstart")):
                body = f"<kickstart>\n{body}\n</kickstart>"
            write(f"{root}/nodes/{node}.xml", body + "\n")
        g = textwrap.dedent(graph).strip()
        if not g.startswith(("<?", "<graph")):
            g = f"<graph>\n{g}\n</graph>"
        write(f"{root}/graphs/default/base.xml", g + "\n")
        return GraphLibrary.load([Source(tmp_path / root, "test"), *(extra or [])])

    return _tree


@pytest.fixture(autouse=True)
def every_kickstart_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever a test compiles is validated again, with a fresh pykickstart handler.

    The compiler validates with a reused handler; this checks that reuse independently.
    """
    original = KickstartCompiler.kickstart

    def checked(self: KickstartCompiler, root: str, attrs: dict[str, str],
                env: dict[str, str] | None = None) -> str:
        text = original(self, root, attrs, env)
        independent_check(text, attrs.get("ks_version") or self.ks_version)
        return text

    monkeypatch.setattr(KickstartCompiler, "kickstart", checked)


@pytest.fixture
def compile_ks() -> Callable[..., str]:
    """compile_ks(lib, root, attrs, env=None, **compiler_options): kickstart text."""

    def _compile(lib: GraphLibrary, root: str, host: dict[str, str], env: dict | None = None,
                 **options: object) -> str:
        return KickstartCompiler(lib, **options).kickstart(root, host, env)  # type: ignore[arg-type]

    return _compile


@pytest.fixture(scope="session")
def stock_lib() -> GraphLibrary:
    return GraphLibrary.load([Source(stock_nodes_dir(), "stock")])


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The public Rocks corpus, in the shared data beside the checkout (../shared)."""
    default = REPO / ".." / "shared" / "rocks-corpus"
    path = Path(os.environ.get("KSSERVER_ROCKS_CORPUS", default))
    if not (path / "base-6.1" / "nodes").is_dir():
        message = f"Rocks corpus not found at {path} (set KSSERVER_ROCKS_CORPUS)"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI always has ../shared: its absence is a failure there
        pytest.skip(message)
    return path
