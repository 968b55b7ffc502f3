"""What the granian front knows about files under /install/ between two looks at the disk.

A 300 KB package fetched by 32 installers at once cost four system calls and a header build per request,
and granian streams a file in 128 KB reads on tokio's blocking pool: at half of nginx's rate.  Here the
answer to ``/install/<path>`` (``resolve_install_file``: the one confinement rule) is kept for ``ttl``
seconds, headers included, and the bytes of small files are kept too (bounded per worker), so a repeated
fetch is one dict lookup and a send from memory.  A file changed on disk is seen within ``ttl``; what is
kept was confined when it was read, so a link redirected meanwhile never serves bytes from outside."""

from __future__ import annotations

import email.utils
import mimetypes
import os
import time
from dataclasses import dataclass, field
from typing import Any

from ksserver.web.confine import resolve_install_file

TTL = 1.0                     # seconds an answer is reused before the disk is looked at again
MAX_ENTRIES = 8192            # paths remembered per worker (a full table starts over: no attacker growth)
MAX_BODY = 1024 * 1024        # files up to this size are kept in memory ...
MAX_BODIES = 64 * 1024 * 1024  # ... up to this many bytes per worker


@dataclass(slots=True)
class InstallFile:
    """One resolved file: its real path, stat-derived headers and, if small, its bytes."""

    real: str
    size: int
    mtime_ns: int
    mtime: int  # whole seconds, as If-Modified-Since compares
    etag: str
    base_headers: list[tuple[str, str]]   # Content-Type, ETag, Last-Modified, Accept-Ranges
    ok_headers: list[tuple[str, str]]     # base + Content-Length: the plain 200
    body: bytes | None
    checked: float = field(default=0.0)


class InstallFileCache:
    """Per worker process, used from its event loop only (one thread): no lock."""

    def __init__(self, dist_dir: str | os.PathLike[str], ttl: float = TTL, max_entries: int = MAX_ENTRIES,
                 max_body: int = MAX_BODY, max_bodies: int = MAX_BODIES):
        self.dist_dir = os.fspath(dist_dir)
        self.ttl, self.max_entries, self.max_body, self.max_bodies = ttl, max_entries, max_body, max_bodies
        self._entries: dict[str, InstallFile] = {}
        self._body_bytes = 0
        self._mime: dict[str, str] = {}

    def lookup(self, rel: str) -> InstallFile | None:
        """The file ``/install/<rel>`` names (decoded path without the prefix), or None for a 404."""
        now = time.monotonic()
        entry = self._entries.get(rel)
        if entry is not None and now - entry.checked < self.ttl:
            return entry
        found = resolve_install_file(self.dist_dir, rel)
        if found is None:
            self.forget(rel)  # 404s are not remembered: random paths cannot fill the table
            return None
        real, st = found
        if entry is not None and (entry.real, entry.size, entry.mtime_ns) == (real, st.st_size,
                                                                              st.st_mtime_ns):
            entry.checked = now  # unchanged: keep the bytes
            return entry
        self.forget(rel)
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
            self._body_bytes = 0
        entry = self._entries[rel] = self._entry(real, st)
        entry.checked = now
        return entry

    def forget(self, rel: str) -> None:
        old = self._entries.pop(rel, None)
        if old is not None and old.body is not None:
            self._body_bytes -= len(old.body)

    def _entry(self, real: str, st: os.stat_result) -> InstallFile:
        etag = f'"{st.st_mtime_ns:x}-{st.st_size:x}"'
        base = [("Content-Type", self._content_type(real)), ("ETag", etag),
                ("Last-Modified", email.utils.formatdate(st.st_mtime, usegmt=True)),
                ("Accept-Ranges", "bytes")]
        body = None
        if st.st_size <= self.max_body and self._body_bytes + st.st_size <= self.max_bodies:
            body = _read_same_file(real, st)
            if body is not None:
                self._body_bytes += len(body)
        return InstallFile(real=real, size=st.st_size, mtime_ns=st.st_mtime_ns, mtime=int(st.st_mtime),
                           etag=etag, base_headers=base,
                           ok_headers=base + [("Content-Length", str(st.st_size))], body=body)

    def _content_type(self, real: str) -> str:
        ext = os.path.splitext(real)[1]
        if ext not in self._mime:
            self._mime[ext] = mimetypes.guess_type("x" + ext)[0] or "application/octet-stream"
        return self._mime[ext]


def _read_same_file(real: str, st: os.stat_result) -> bytes | None:
    """The bytes of ``real`` if it is still the file that was checked (same inode, size and mtime), else
    None (it is then sent from disk, by path, as before)."""
    try:
        fd = os.open(real, os.O_RDONLY | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        now = os.fstat(fd)
        if (now.st_ino, now.st_dev, now.st_size, now.st_mtime_ns) != (st.st_ino, st.st_dev, st.st_size,
                                                                       st.st_mtime_ns):
            return None
        chunks, left = [], now.st_size
        while left > 0:
            chunk = os.read(fd, left)
            if not chunk:
                return None  # truncated meanwhile
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def file_plan(entry: InstallFile, headers: Any) -> tuple[int, list[tuple[str, str]], tuple[int, int] | None]:
    """(status, headers, byte range or None for the whole file) for GET/HEAD of ``entry``: ETag and
    If-Modified-Since answered with 304, one ``Range: bytes=`` range with 206 (dnf resumes downloads
    with it), anything else with the whole file."""
    if_none, since = headers.get("if-none-match"), headers.get("if-modified-since")
    want = headers.get("range")
    if if_none is None and since is None and want is None:  # the usual fetch: headers built once per file
        return 200, entry.ok_headers, None
    base = entry.base_headers
    if if_none is not None:
        if entry.etag in [tag.strip() for tag in if_none.split(",")] or if_none.strip() == "*":
            return 304, base, None
    elif since is not None:
        parsed = _http_date(since)
        if parsed is not None and entry.mtime <= parsed:
            return 304, base, None
    span = single_range(want, entry.size)
    if span == "unsatisfiable":
        return 416, base + [("Content-Range", f"bytes */{entry.size}"), ("Content-Length", "0")], None
    if span is not None:
        start, end = span
        return 206, base + [("Content-Range", f"bytes {start}-{end - 1}/{entry.size}"),
                            ("Content-Length", str(end - start))], span
    return 200, entry.ok_headers, None


def _http_date(value: str) -> float | None:
    """The POSIX time of an HTTP date, or None when it is not one."""
    try:
        return email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None


def single_range(value: str | None, size: int) -> tuple[int, int] | str | None:
    """[start, end) of a single ``bytes=`` range; None to send the whole file; 'unsatisfiable'."""
    if not value or not value.startswith("bytes=") or "," in value:
        return None
    first, sep, last = value[6:].strip().partition("-")
    if not sep or not (first.isdigit() or last.isdigit()) or not (first.isdigit() or not first) \
            or not (last.isdigit() or not last):
        return None
    if not first:  # the last N bytes
        count = int(last)
        return (max(0, size - count), size) if count else "unsatisfiable"
    start = int(first)
    if start >= size:
        return "unsatisfiable"
    end = min(size, int(last) + 1) if last else size
    return (start, end) if end > start else None
