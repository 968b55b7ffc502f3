"""Group commit: concurrent small writes of one process share a transaction, each all-or-nothing.

A boot storm sends hundreds of partition reports a second, each a few rows.  Committing each alone costs a
write lock (SQLite: one writer at a time across every worker), a change-log row and, in every server, one
host reload per commit; and each statement is a point where a thread gives up the GIL and waits for it
again behind the request threads.  Here the first caller leads: it hands every item queued so far to
``apply(session, items)`` (set-based statements: a few per batch, not per item) in one transaction,
commits once, and passes the lead to the next queued caller.  Nobody waits for a timer: a batch is
whatever arrived while the previous one committed, so an idle server commits each item at once.

If a batch fails, each of its items is retried in a transaction of its own, so an item is committed
completely or not at all and only a failing item's caller gets an error.

On SQLite the leaders of the server's worker processes queue on an flock() of a file beside the database
before ``BEGIN IMMEDIATE``: the kernel wakes the next one the moment the lock is free, where SQLite's busy
handler sleeps 1, 2, 5 ... 100 ms between retries and leaves the database idle meanwhile.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Generic, TypeVar

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ksserver.errors import DatabaseError

Item = TypeVar("Item")


class _Pending(Generic[Item]):
    __slots__ = ("done", "error", "item", "lead")

    def __init__(self, item: Item):
        self.item = item
        self.done = threading.Event()
        self.lead = False  # set with ``done`` when this caller is to lead the next batch
        self.error: BaseException | None = None


class GroupCommit(Generic[Item]):
    """``submit(item)`` returns once ``item`` is committed by ``apply(session, items)`` inside a write
    transaction shared with concurrent callers, or raises the error that kept it from being committed.

    ``apply`` must not depend on per-call context (an audit ``acting`` block): the leader's thread runs it."""

    def __init__(self, db: Any, apply: Callable[[Session, list[Item]], None], max_batch: int = 64):
        self.db = db  # ksserver.db.session.Database
        self.apply = apply
        self.max_batch = max_batch
        self._lock = threading.Lock()
        self._queue: list[_Pending[Item]] = []
        self._leading = False
        self._lock_fd: int | None = None
        self.batches = 0  # committed transactions and items, for tests and benchmarks
        self.items = 0

    def submit(self, item: Item) -> None:
        pending = _Pending(item)
        with self._lock:
            self._queue.append(pending)
            lead = not self._leading
            self._leading = True
        if not lead:
            pending.done.wait()
            lead = pending.lead
        if lead:
            self._lead()
        if pending.error is not None:
            raise pending.error

    def _lead(self) -> None:
        with self._lock:  # the leader's own item is first in the queue
            batch = self._queue[:self.max_batch]
            del self._queue[:self.max_batch]
        try:
            self._commit(batch)
        except BaseException as exc:  # interrupted: no caller may take its item for committed
            for pending in batch:
                pending.error = pending.error or exc
            raise
        finally:
            with self._lock:
                following = self._queue[0] if self._queue else None
                self._leading = following is not None
            for pending in batch:
                pending.done.set()
            if following is not None:  # its caller leads the next batch: every caller does its share
                following.lead = True
                following.done.set()

    def _commit(self, batch: list[_Pending[Item]]) -> None:
        try:
            self._transaction([p.item for p in batch])
            return
        except Exception as exc:  # noqa: BLE001 - retried one by one below; a lone item keeps its error
            if len(batch) == 1:
                batch[0].error = exc
                return
        for pending in batch:
            try:
                self._transaction([pending.item])
            except Exception as exc:  # noqa: BLE001 - its caller gets it
                pending.error = exc

    def _transaction(self, items: list[Item]) -> None:
        try:
            with self._writers_queue(), self.db.session(write=True) as session:
                self.apply(session, items)
        except SQLAlchemyError as exc:  # e.g. a constraint: the errors.py tree, as Database.session does
            raise DatabaseError(f"database error: {getattr(exc, 'orig', None) or exc}") from None
        self.batches += 1
        self.items += len(items)

    @contextlib.contextmanager
    def _writers_queue(self) -> Iterator[None]:
        """Only the leader of this process calls this, so the per-process flock needs no thread lock."""
        url = self.db.engine.url
        if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
            yield
            return
        if self._lock_fd is None:
            path = Path(url.database)
            self._lock_fd = os.open(path.with_name(path.name + "-writers"), os.O_CREAT | os.O_RDWR, 0o600)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
