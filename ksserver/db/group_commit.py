"""Group commit: concurrent small writes of one process share a transaction, each all-or-nothing.

A boot storm sends hundreds of partition reports a second, each a few rows.  Committing each alone costs a
write lock (SQLite: one writer at a time across every worker), a change-log row and, in every server, one
host reload per report.  Here the first caller leads: it takes every write queued so far into one
transaction, runs each in its own SAVEPOINT (a failing write rolls back alone and its caller gets the
error), commits once, and hands the lead to the next queued caller.  Nobody waits for a timer: a batch is
whatever arrived while the previous one committed, so an idle server commits each write at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ksserver.errors import DatabaseError

T = TypeVar("T")


class _Work(Generic[T]):
    __slots__ = ("fn", "done", "lead", "value", "error")

    def __init__(self, fn: Callable[[Session], T]):
        self.fn = fn
        self.done = threading.Event()
        self.lead = False  # set with ``done`` when this caller is to lead the next batch
        self.value: T | None = None
        self.error: BaseException | None = None


class GroupCommit:
    """``run(fn)`` calls ``fn(session)`` inside a write transaction shared with concurrent callers and
    returns its result once that transaction committed (or raises: its own error, or the commit's).

    ``fn`` must not depend on per-call context (an audit ``acting`` block): the leader's thread runs it."""

    def __init__(self, db, max_batch: int = 64):  # type: ignore[no-untyped-def]
        self.db = db  # ksserver.db.session.Database
        self.max_batch = max_batch
        self._lock = threading.Lock()
        self._queue: list[_Work] = []
        self._leading = False
        self.batches = 0  # committed transactions, for tests and benchmarks
        self.writes = 0

    def run(self, fn: Callable[[Session], T]) -> T:
        work = _Work(fn)
        with self._lock:
            self._queue.append(work)
            lead = not self._leading
            self._leading = True
        if not lead:
            work.done.wait()
            lead = work.lead
        if lead:
            self._lead()
        if work.error is not None:
            raise work.error
        return work.value  # type: ignore[return-value]

    def _lead(self) -> None:
        with self._lock:
            batch = self._queue[:self.max_batch]
            del self._queue[:self.max_batch]
        try:
            self._commit(batch)
        finally:
            with self._lock:
                following = self._queue[0] if self._queue else None
                self._leading = following is not None
            for work in batch:
                work.done.set()
            if following is not None:  # its caller leads the next batch: every caller does its share
                following.lead = True
                following.done.set()

    def _commit(self, batch: list[_Work]) -> None:
        try:
            with self.db.session(write=True) as session:
                for work in batch:
                    try:
                        with session.begin_nested():  # SAVEPOINT: this write alone is undone on error
                            work.value = work.fn(session)
                    except SQLAlchemyError as exc:
                        work.error = DatabaseError(f"database error: {getattr(exc, 'orig', exc)}")
                    except Exception as exc:  # noqa: BLE001 - the caller gets its own error back
                        work.error = exc
            self.batches += 1
            self.writes += sum(1 for w in batch if w.error is None)
        except BaseException as exc:  # nothing of the batch was committed: every caller learns it
            for work in batch:
                if work.error is None:
                    work.error = exc
            if not isinstance(exc, Exception):
                raise
