"""The bulk resolver behind ``rocks list host attr``: its statements do not grow with the hosts (a few per
500 named hosts), and what it gives equals resolving each host on its own."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from ksserver.inventory import context
from ksserver.inventory import hosts as inventory_hosts
from ksserver.inventory.hosts import HostRequest
from ksserver.services import attrs, hosts


@contextmanager
def _counted(svc) -> Iterator[list[str]]:  # type: ignore[no-untyped-def]
    statements: list[str] = []

    def note(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(svc.db.engine, "before_cursor_execute", note)
    try:
        yield statements
    finally:
        event.remove(svc.db.engine, "before_cursor_execute", note)


def _add(svc, first: int, count: int) -> None:  # type: ignore[no-untyped-def]
    for k in range(first, first + count):
        hosts.add_host(svc, HostRequest(name=f"compute-7-{k}", mac=f"52:54:00:07:00:{k:02x}"))
    attrs.set_attr(svc, "host", [f"compute-7-{first}"], "site_tag", f"own-{first}")


def _statements(svc, names: list[str]) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    with _counted(svc) as statements:
        rows = attrs.host_attr_table(svc, names)
    return len(statements), len(rows)


def test_statements_do_not_grow_with_the_hosts(svc):  # type: ignore[no-untyped-def]
    attrs.set_attr(svc, "appliance", ["compute"], "site_tag", "appliance")
    _add(svc, 0, 3)
    few, few_rows = _statements(svc, [])
    named_few, _ = _statements(svc, ["compute-7-0", "frontend"])
    _add(svc, 3, 30)
    many, many_rows = _statements(svc, [])
    named_many, _ = _statements(svc, [f"compute-7-{k}" for k in range(33)] + ["frontend"])
    assert many_rows > few_rows * 4
    assert many == few <= 8
    assert named_many == named_few <= 8


def test_bulk_equals_per_host_resolution(svc):  # type: ignore[no-untyped-def]
    _add(svc, 0, 3)
    attrs.set_attr(svc, "global", [], "db_password", "hidden")
    attrs.set_attr(svc, "os", ["linux"], "site_tag", "os")
    with svc.db.session() as session:
        bulk = {view.name: merged for view, merged in context.resolved_attrs_of_hosts(session, [])}
        per_host = {host.name: {a: (r.value, r.source)
                                for a, r in context.resolved_attrs(session, host).items()}
                    for host in inventory_hosts.get_hosts(session, [])}
    assert bulk == per_host and len(bulk) == 7
    masked = {(r.target, r.attr): r.value for r in attrs.host_attrs(svc, [])}
    assert masked[("compute-7-1", "db_password")] == "********"
    assert masked[("compute-7-0", "site_tag")] == "own-0" and masked[("compute-7-1", "site_tag")] == "os"
