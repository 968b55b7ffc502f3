"""graph.batch.check_hosts fails exactly the hosts, with exactly the errors, that rendering each host does."""

from __future__ import annotations

from ksserver.errors import GraphError
from ksserver.graph import GraphLibrary, KickstartCompiler, Source, stock_nodes_dir
from ksserver.graph.batch import Overlay, check_hosts

from .conftest import base_attrs

VARIANTS = ["Etc/UTC", "Asia/Tokyo", "Asia/Tokyo extra", "bad\x01zone", "", "x#y", "%end", "Europe/Paris"]


def _hosts() -> list[tuple[str, dict[str, str]]]:
    shared = base_attrs()
    out = []
    for i in range(64):
        own = {"hostname": f"compute-0-{i}", "rank": str(i), "hostaddr": f"10.1.0.{i}"}
        if i % 8:  # one host in eight lacks the zone of the others: undefined, named per host
            own["Kickstart_Timezone"] = VARIANTS[i % len(VARIANTS)]
        if i == 40:
            own["hostname"] = "two words"
        out.append((f"compute-0-{i}", {**{k: v for k, v in shared.items() if k != "Kickstart_Timezone"}, **own}))
    return out


def test_check_hosts_agrees_with_rendering_every_host():
    lib = GraphLibrary.load([Source(path=stock_nodes_dir(), label="stock")])
    one_by_one = {}
    compiler = KickstartCompiler(lib, evals=False)
    for name, attrs in _hosts():
        try:
            compiler.kickstart("compute", attrs)
        except GraphError as exc:
            one_by_one[name] = str(exc)
    assert "compute-0-40" in one_by_one and "compute-0-0" in one_by_one and "compute-0-2" in one_by_one
    varying = frozenset({"hostname", "rank", "hostaddr", "Kickstart_Timezone"})
    shared = {k: v for k, v in base_attrs().items() if k not in varying}
    batch = KickstartCompiler(lib, evals=False)
    hosts = [(name, "compute", "compute", Overlay({k: v for k, v in attrs.items() if k in varying}, shared))
             for name, attrs in _hosts()]
    found = {name: str(exc) for name, _, exc in check_hosts(batch, hosts, varying)}
    assert found == one_by_one
