"""Engine and session factories.

Writes are serialised where allocation needs it: on SQLite every write transaction starts
with ``BEGIN IMMEDIATE`` (one writer at a time, others wait on the busy timeout instead of
failing an upgrade from read to write lock); on PostgreSQL allocators take a transaction-level
advisory lock (``allocation_lock``).  Unique constraints remain the last line of defence.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import zlib
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from ksserver.db import audit, changes
from ksserver.errors import ConfigError, DatabaseError

_WRITE_TXN: contextvars.ContextVar[bool] = contextvars.ContextVar("ksserver_write_txn", default=False)


def secure_sqlite_file(url: str) -> None:
    """The database holds the root password hash: its file (and SQLite's -wal/-shm, which SQLite creates
    with the main file's mode) is 0600 from the start, whatever the umask, and its directory 0700."""
    if not url.startswith("sqlite:///") or url.endswith(":memory:"):
        return
    path = Path(url[len("sqlite:///"):])
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True)
    # Only a file that does not exist yet is opened here: closing any descriptor of an existing database
    # drops every POSIX lock this process holds on it, SQLite's included, and another process's last
    # connection then checkpoints and deletes the WAL under this one's feet (a malformed database).
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600))
    for name in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if name.exists() and name.stat().st_mode & 0o077:
            os.chmod(name, 0o600)


def make_engine(url: str, pooled: bool = True) -> Engine:
    """``pooled=False`` gives connections that are opened and closed by their holder (NullPool)."""
    try:
        if url.startswith("sqlite"):
            secure_sqlite_file(url)
            extra = {} if pooled else {"poolclass": NullPool}
            engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **extra)
            _configure_sqlite(engine)
        elif pooled:
            engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
        else:
            engine = create_engine(url, poolclass=NullPool)
    except Exception as exc:  # bad URL, missing driver
        raise ConfigError(f"cannot use database URL {url!r}: {exc}") from None
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        # Take transaction control away from pysqlite so that we can say BEGIN IMMEDIATE.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        conn.exec_driver_sql("BEGIN IMMEDIATE" if _WRITE_TXN.get() else "BEGIN")


class Database:
    """An engine plus a session factory; built by ``Database.from_url`` or from settings."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        self._factory = sessionmaker(engine, expire_on_commit=False)
        changes.install(self._factory)

    @classmethod
    def from_url(cls, url: str) -> Database:
        return cls(make_engine(url))

    @contextlib.contextmanager
    def session(self, write: bool = False) -> Iterator[Session]:
        """One transaction: committed on success, rolled back on any error (nothing half-written)."""
        token = _WRITE_TXN.set(write)
        session = self._factory()
        try:
            try:
                yield session
                if write:
                    session.flush()
                    # Tell every server process which cached inventory data is stale.
                    changes.record(session)
                    # An API/console operation's audit row commits with its first write.
                    audit.record(session)
                    session.commit()
                else:
                    session.rollback()
            except BaseException:
                session.rollback()
                raise
            finally:
                session.close()
        except (OperationalError, ProgrammingError) as exc:
            text_ = str(exc.orig)
            if "no such table" in text_ or "does not exist" in text_:
                raise DatabaseError(f"the cluster database is not initialised ({text_}): run 'rocks init'") from None
            raise DatabaseError(f"database error: {text_}") from None
        finally:
            _WRITE_TXN.reset(token)

    def dispose(self) -> None:
        self.engine.dispose()


def allocation_lock(session: Session, name: str) -> None:
    """Serialise allocations named ``name`` (next IP, rank, MAC, slice) until the transaction ends.

    SQLite write transactions are already exclusive (BEGIN IMMEDIATE); PostgreSQL takes a
    transaction-level advisory lock."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": zlib.crc32(name.encode())})
