"""PXE/iPXE files follow the database: collect what a transaction changed, write after commit."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from ksserver.db.models import Host
from ksserver.errors import FilesNotWritten
from ksserver.inventory import boot
from ksserver.pxe import BootEntry, remove_boot_files, write_boot_files


@dataclass
class BootFileChanges:
    """Before/after PXE data of the hosts a transaction touched.

    ``track`` is called before a change, ``settle`` after it (still inside the transaction); ``apply``
    runs after the commit and brings the files in line: stale names removed, new content written."""

    _before: dict[int, BootEntry | None] = field(default_factory=dict)
    _after: dict[int, BootEntry | None] = field(default_factory=dict)
    _names: dict[int, str] = field(default_factory=dict)

    def track(self, session: Session, host: Host) -> None:
        if host.id not in self._before:
            self._before[host.id] = boot.current_entry(session, host)
            self._names[host.id] = host.name

    def settle(self, session: Session, host: Host) -> None:
        session.flush()
        session.refresh(host)
        self._after[host.id] = boot.current_entry(session, host)

    def gone(self, host_id: int) -> None:
        """The host was removed: its files go."""
        self._after[host_id] = None

    def __len__(self) -> int:
        return len(self._before)

    def apply(self, tftp_dir: Path) -> None:
        failed = []
        for host_id, before in self._before.items():
            after = self._after.get(host_id, before)
            try:
                if before is not None and (after is None or before.ip != after.ip or before.mac != after.mac):
                    remove_boot_files(tftp_dir, before)
                if after is not None:
                    write_boot_files(tftp_dir, after)
            except OSError as exc:
                failed.append(f"{self._names[host_id]} ({exc.strerror or exc})")
        if failed:
            raise FilesNotWritten(f"the database is updated, but PXE files could not be written for "
                                  f"{', '.join(failed)} in {tftp_dir}; fix that and run 'rocks sync host boot'")
