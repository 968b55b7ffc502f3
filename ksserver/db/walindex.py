"""Has anything been committed to an SQLite database (WAL mode) since a given moment?  Read off the
wal-index header in its ``-shm`` file, mapped into memory.  Asking the database costs a read transaction,
and any system call (a ``pread`` as much as the query) gives up the GIL mid-request: under a storm each
cost the worker as much CPU per kickstart as the rest of its kickstart path (py-spy; see docs/performance.md).

The header's format is SQLite's (sqlite.org/walformat.html, "The WAL-Index Header"): two copies of a
48-byte block, written by each commit (its ``iChange`` counter goes up) and by a WAL restart (new salts);
a checkpoint leaves it alone.  Whenever the block cannot vouch for anything (no file, a short read, the
copies differ mid-commit, another format), ``header`` returns None and the caller asks the database.
"""

from __future__ import annotations

import mmap
import os
import sys

HEADER_BYTES = 48
WAL_INDEX_VERSION = 3007000


class WalIndexHeader:
    def __init__(self, database_path: str):
        self.path = database_path + "-shm"
        self._fd = -1
        self._inode = -1
        self._map: mmap.mmap | None = None
        self._retired: list[object] = []  # see _open: what is never closed

    def header(self) -> bytes | None:
        """The current header, or None when it says nothing (then query)."""
        if self._map is None and not self._open():
            return None
        raw = self._map[:2 * HEADER_BYTES]  # type: ignore[index]
        head = raw[:HEADER_BYTES]
        if len(raw) < 2 * HEADER_BYTES or head != raw[HEADER_BYTES:] or not head[12]:  # byte 12: isInit
            return None
        if int.from_bytes(head[:4], sys.byteorder) != WAL_INDEX_VERSION:
            return None
        return head

    def revalidate(self) -> None:
        """Follow a replaced file: SQLite deletes ``-shm`` when the last connection anywhere closes, and
        the next one makes a new file.  Called now and then; the caller also asks the database then."""
        try:
            inode = os.stat(self.path).st_ino
        except OSError:
            inode = -1
        if inode != self._inode and self._fd >= 0:
            self._retired.append((self._fd, self._map))
            self._fd, self._map = -1, None

    def _open(self) -> bool:
        # Neither the descriptor nor the map (which holds a duplicate of it) is ever closed: closing any
        # descriptor of a file drops every POSIX lock this process holds on it, SQLite's own locks on -shm
        # included.  A replaced file leaves one of each behind; that is rare.  The first page is read only
        # while the file is at least that long: SQLite shortens it to 3 bytes, never to 0 (no SIGBUS).
        try:
            if self._fd < 0:
                self._fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
                self._inode = os.fstat(self._fd).st_ino
            if os.fstat(self._fd).st_size < 2 * HEADER_BYTES:
                return False
            self._map = mmap.mmap(self._fd, 2 * HEADER_BYTES, mmap.MAP_SHARED, mmap.PROT_READ)
        except (OSError, ValueError):
            return False
        return True
