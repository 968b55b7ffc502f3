"""Shared fixtures: settings on a temp state dir, the database (SQLite and real PostgreSQL),
and a ``rocks`` runner that calls the real CLI in-process."""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from ksserver.cli import run
from ksserver.config import Settings, load_settings
from tests.pg import PostgresServer


@pytest.fixture(scope="session")
def pg_server():
    server = PostgresServer()
    reason = server.unavailable_reason()
    if reason:
        pytest.skip(reason)
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path: Path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'cluster.db'}"
        return
    server: PostgresServer = request.getfixturevalue("pg_server")
    name = "t_" + uuid.uuid4().hex[:12]
    yield server.create_database(name)
    server.drop_database(name)


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return load_settings(environ={}, root=tmp_path / "state", database_url=db_url, evals=True)


@dataclass
class Result:
    code: int
    out: str
    err: str

    def __str__(self) -> str:
        return f"exit {self.code}\nstdout:\n{self.out}\nstderr:\n{self.err}"


class Hypervisors:
    """One libvirt connection per URI for the whole test, so state (e.g. of a private test:// driver
    node file, which every new connection would start afresh) persists across rocks commands."""

    def __init__(self) -> None:
        self.open: dict[str, object] = {}

    def __call__(self, uri: str, label: str):  # type: ignore[no-untyped-def]
        from xenvm.hypervisor import LibvirtHypervisor

        if uri not in self.open:
            self.open[uri] = LibvirtHypervisor(uri, label=label)
        return self.open[uri]

    def close(self) -> None:
        for hv in self.open.values():
            hv.close()  # type: ignore[attr-defined]


@pytest.fixture
def hypervisors():
    pool = Hypervisors()
    yield pool
    pool.close()


@pytest.fixture
def rocks(settings: Settings, hypervisors: Hypervisors):
    def call(*argv: str, stdin: str = "") -> Result:
        out, err = io.StringIO(), io.StringIO()
        code = run(list(argv), settings=settings, out=out, err=err, hypervisor_factory=hypervisors,
                   stdin=io.StringIO(stdin))
        return Result(code, out.getvalue(), err.getvalue())
    return call


@pytest.fixture
def cluster(rocks):
    """An initialised database with a frontend, two compute nodes and a VM container."""
    assert rocks("init").code == 0
    for args in (["frontend", "membership=Frontend", "ip=10.1.1.1", "mac=52:54:00:00:00:01"],
                 ["compute-0-0", "mac=52:54:00:00:01:00"], ["compute-0-1", "mac=52:54:00:00:01:01"],
                 ["vm-container-0-0", "mac=52:54:00:00:02:00"]):
        result = rocks("add", "host", *args)
        assert result.code == 0, result
    return rocks


# -- CI runs everything: a skip there means .ci/run failed to install something ---------------------

_SKIPPED: list[str] = []


def pytest_runtest_logreport(report):  # type: ignore[no-untyped-def]
    if report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        _SKIPPED.append(f"{report.nodeid}: {reason}")


def pytest_sessionfinish(session, exitstatus):  # type: ignore[no-untyped-def]
    import os

    if os.environ.get("CI") and _SKIPPED and exitstatus == 0:
        listing = "\n  ".join(_SKIPPED)
        print(f"\nCI runs every test, but {len(_SKIPPED)} were skipped (.ci/run must install what they "
              f"need):\n  {listing}")
        session.exitstatus = 1
