"""``rocks-dist dist`` as an asynchronous job for the REST API and the console.

``start_build`` records a queued row and runs ``services.dist.build`` in a thread of the calling
server; the row (state, progress, failures with file:line:col, warnings, undefined attributes, the
generation published) is what every worker reads.  One build at a time: a second request while one is
queued or running is refused, and the rocks-dist flock still guards against ``rocks-dist`` run by hand.
A row left running by a server process that died is marked failed when next read on that machine."""

from __future__ import annotations

import contextvars
import json
import os
import re
import socket
import threading
import time
from dataclasses import dataclass, field

from sqlalchemy import select

from ksserver.db.models import Build
from ksserver.errors import BuildBusy, DistError, GraphError, InvalidArgument, NotFound, RocksError
from ksserver.inventory import validate
from ksserver.services import Cluster

STATES = ("queued", "running", "succeeded", "failed")
ACTIVE = ("queued", "running")
MAX_LISTED = 200
# A place in a node or graph file, as GraphError and lxml messages print it: path.xml:LINE[:COLUMN].
_PLACE = re.compile(r"(?P<file>[^\s:;'\"()]+\.xml):(?P<line>\d+)(?::(?P<column>\d+))?")
# The same at the start of a message (GraphError's form), where the file name may hold any character.
_LEADING_PLACE = re.compile(r"^(?P<file>.+?\.xml):(?P<line>\d+)(?::(?P<column>\d+))?(?::|$)")
_HOST_PREFIX = re.compile(r"^(?P<host>[A-Za-z0-9][A-Za-z0-9_.\-]*): ")
_threads: dict[int, threading.Thread] = {}  # jobs this process runs, so tests and shutdown can join them


@dataclass(frozen=True)
class BuildProblem:
    """One failure of a build, with the file, line and column it names (when it names one)."""

    message: str
    host: str = ""
    file: str = ""
    line: int | None = None
    column: int | None = None


@dataclass(frozen=True)
class BuildRow:
    id: int
    state: str
    arch: str
    requested_by: str
    progress: str
    percent: int
    created_at: float
    started_at: float
    finished_at: float
    generation: str
    hosts: int
    error: str
    failures: list[BuildProblem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    undefined: list[str] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        return self.state not in ACTIVE


def live_paths(text: str, sources: list[str], generations_dir: str) -> str:
    """Name the file the admin edits rather than its copy in a generation (``sources``: the live source
    folders in generation order; a copy is ``<generations_dir>/<digest>/<index>-<label>/...``)."""
    copy = re.compile(re.escape(generations_dir.rstrip("/")) + r"/[0-9a-f]{64}/(?P<index>\d+)-[^/]+/")

    def live(match: re.Match[str]) -> str:
        index = int(match["index"])
        return sources[index].rstrip("/") + "/" if index < len(sources) else match[0]

    return copy.sub(live, text)


def problem(text: str) -> BuildProblem:
    """Split ``host: file.xml:line:col: message`` into its parts (anything else is kept whole)."""
    host = ""
    match = _HOST_PREFIX.match(text)
    if match:
        host, text = match["host"], text[match.end():]
    place = _LEADING_PLACE.match(text) or _PLACE.search(text)
    if place is None:
        return BuildProblem(message=text, host=host)
    column = int(place["column"]) if place["column"] else None
    return BuildProblem(message=text, host=host, file=place["file"], line=int(place["line"]), column=column)


def _worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _row(build: Build) -> BuildRow:
    return BuildRow(id=build.id, state=build.state, arch=build.arch, requested_by=build.requested_by,
                    progress=build.progress, percent=build.percent, created_at=build.created_at,
                    started_at=build.started_at, finished_at=build.finished_at, generation=build.generation,
                    hosts=build.hosts, error=build.error,
                    failures=[BuildProblem(**p) for p in json.loads(build.failures or "[]")],
                    warnings=json.loads(build.warnings or "[]"),
                    undefined=json.loads(build.undefined or "[]"))


def _orphaned(build: Build) -> bool:
    """Running on this machine in a process that no longer exists (killed server)."""
    host, _, pid = build.worker.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        thread = _threads.get(build.id)
        return thread is not None and not thread.is_alive()
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _reap(cluster: Cluster) -> None:
    with cluster.db.session() as session:
        stale = [b.id for b in session.scalars(select(Build).where(Build.state.in_(ACTIVE))) if _orphaned(b)]
    for build_id in stale:
        # In an empty context: this write is housekeeping, not the audited operation of the caller.
        contextvars.Context().run(_finish, cluster, build_id, "failed",
                                  "the server process running this build stopped; start it again")


def start_build(cluster: Cluster, requested_by: str, arch: str = "x86_64",
                background: bool = True) -> BuildRow:
    """Queue a build and start it (in a thread unless ``background`` is False, then it runs here)."""
    arch = validate.arch(arch)
    _reap(cluster)
    with cluster.db.session(write=True) as session:
        busy = session.scalar(select(Build.id).where(Build.state.in_(ACTIVE)).limit(1))
        if busy is not None:
            raise BuildBusy(f"build {busy} is still queued or running: wait for it to finish")
        build = Build(state="queued", arch=arch, requested_by=requested_by, worker=_worker(),
                      progress="waiting to start", created_at=time.time())
        session.add(build)
        session.flush()
        build_id = build.id
    if background:
        thread = threading.Thread(target=run_build, args=(cluster, build_id), name=f"build-{build_id}",
                                  daemon=True)
        _threads[build_id] = thread
        thread.start()
    else:
        run_build(cluster, build_id)
    return get_build(cluster, build_id)


def _update(cluster: Cluster, build_id: int, **values: object) -> None:
    with cluster.db.session(write=True) as session:
        build = session.get(Build, build_id)
        if build is not None:
            for key, value in values.items():
                setattr(build, key, value)


def _finish(cluster: Cluster, build_id: int, state: str, error: str = "", report: object = None,
            problems: list[BuildProblem] | None = None) -> None:
    values: dict[str, object] = {"state": state, "finished_at": time.time(), "percent": 100, "error": error,
                                 "progress": "published" if state == "succeeded" else "failed"}
    if report is not None:
        values.update(generation=getattr(report, "generation", ""), hosts=getattr(report, "hosts", 0),
                      warnings=json.dumps(list(getattr(report, "warnings", []))),
                      undefined=json.dumps(list(getattr(report, "undefined", []))),
                      failures=json.dumps([problem(f).__dict__ for f in getattr(report, "failures", [])]))
    elif error:
        values["failures"] = json.dumps([p.__dict__ for p in (problems or [problem(error)])])
    _update(cluster, build_id, **values)


def run_build(cluster: Cluster, build_id: int) -> None:
    """Run one queued build to its end; every outcome is recorded in its row, nothing is raised."""
    from ksserver.services import dist

    try:
        with cluster.db.session() as session:
            build = session.get(Build, build_id)
            arch = build.arch if build else "x86_64"
        _update(cluster, build_id, state="running", started_at=time.time(), percent=10, worker=_worker(),
                progress="copying the node and graph files, compiling and validating every host's kickstart")
        report = dist.build(cluster, arch)
    except DistError as exc:
        _finish(cluster, build_id, "failed", exc.message, getattr(exc, "report", None))
    except GraphError as exc:  # a node file that does not parse: the error names file, line and column
        from ksserver.generations import generations_dir
        from ksserver.services.rolls import cluster_sources

        live, copies = [str(s.path) for s in cluster_sources(cluster)], str(generations_dir(cluster.settings))
        message = live_paths(exc.message, live, copies)
        where = BuildProblem(message=message, file=live_paths(str(exc.path or ""), live, copies),
                             line=exc.line, column=exc.column)
        _finish(cluster, build_id, "failed", message, problems=[where])
    except RocksError as exc:
        _finish(cluster, build_id, "failed", exc.message)
    except Exception as exc:  # noqa: BLE001  (the job must end in a state, whatever broke)
        _finish(cluster, build_id, "failed", f"internal error: {type(exc).__name__}: {exc}")
    else:
        _finish(cluster, build_id, "succeeded", report=report)
    finally:
        _threads.pop(build_id, None)


def get_build(cluster: Cluster, build_id: int) -> BuildRow:
    _reap(cluster)
    with cluster.db.session() as session:
        build = session.get(Build, build_id)
        if build is None:
            raise NotFound(f"no build {build_id}")
        return _row(build)


def list_builds(cluster: Cluster, limit: int = 20) -> list[BuildRow]:
    """The newest builds first."""
    if not 1 <= limit <= MAX_LISTED:
        raise InvalidArgument(f"limit must be between 1 and {MAX_LISTED}")
    _reap(cluster)
    with cluster.db.session() as session:
        return [_row(b) for b in session.scalars(select(Build).order_by(Build.id.desc()).limit(limit))]


def wait_build(cluster: Cluster, build_id: int, timeout: float = 300.0) -> BuildRow:
    """The build once finished (joins the thread when this process runs it, else polls the row)."""
    deadline = time.monotonic() + timeout
    thread = _threads.get(build_id)
    if thread is not None:
        thread.join(timeout)
    row = get_build(cluster, build_id)
    while not row.finished and time.monotonic() < deadline:
        time.sleep(0.2)
        row = get_build(cluster, build_id)
    return row
