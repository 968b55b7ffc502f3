"""Each server instance keeps its own TFTP tree in line with the database (docs/scale-out.md).

A boot change writes the boot answers on the machine where the command runs (``bootfiles``).  With several
instances on one database, each ``ksserver serve`` started with ``tftp_follow`` runs one follower process
(not one per worker) that reads the shared change log and rewrites the answers of the hosts that changed
in its own ``tftpboot/``; a shared change (a boot action edited, an attribute) rewrites every host's.
Files are compared before they are written, so an unchanged answer is never touched.

Install answers carry the host's install token, which the database stores only hashed: the follower
derives it from the site's token key (``<root>/install-token-key``, copied to every instance like the
admin token) and checks it against the stored hash.  A host whose token it cannot derive keeps its files.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import threading
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ksserver.bootanswers import answer_paths, is_disk_boot, render_answers
from ksserver.config import Settings
from ksserver.db import changes
from ksserver.db.models import Boot, Change, Host, InstallToken
from ksserver.db.session import Database
from ksserver.errors import RocksError
from ksserver.inventory import boot
from ksserver.inventory.lifecycle import derived_token
from ksserver.inventory.requester import hash_token
from ksserver.pxe import atomic_write
from ksserver.services.bootfiles import KEY_NAME, server_url, token_key

log = logging.getLogger("ksserver.tftpsync")
# The per-host answers bootanswers writes; nothing else in the tree (kernels, pxelinux.cfg/default) is ours.
_MAC = r"[0-9a-f]{2}(?:-[0-9a-f]{2}){5}"
_ANSWER = re.compile(rf"^(?:pxelinux\.cfg/[0-9A-F]{{8}}|ipxe/{_MAC}\.ipxe|grub\.cfg-01-{_MAC})$")


class TftpFollower:
    """Catches one TFTP tree up with the change log, one ``step`` at a time (tests call it directly)."""

    def __init__(self, settings: Settings, db: Database):
        self.settings, self.db = settings, db
        self.seq = -1                          # -1: nothing read yet; the first step syncs every host
        self._paths: dict[int, set[Path]] = {}  # host id -> the answer files written for it
        self._complained: set[str] = set()

    def step(self) -> int:
        """Rewrite what changed since the last step; the number of files written or removed."""
        with self.db.session() as session:
            top = changes.latest(session)
            if top == self.seq:
                return 0
            rows = session.execute(select(Change.seq, Change.host_id).where(Change.seq > self.seq)).all()
            oldest = session.scalar(select(func.min(Change.seq))) or 0
            everything = self.seq < 0 or oldest > self.seq + 1 or any(h is None for _, h in rows)
            key = token_key(self.settings)
            if everything:
                done = self._sync_all(session, key)
            else:
                # Partition reports (negative ids) change no boot answer.
                reload, _ = changes.partitioning_only(h for _, h in rows)
                done = sum(self._sync_host(session, host_id, key) for host_id in reload)
            self.seq = max([top] + [s for s, _ in rows])
            return done

    def _sync_all(self, session: Session, key: bytes | None) -> int:
        ids = session.scalars(select(Boot.host_id)).all()
        done = sum(self._sync_host(session, host_id, key) for host_id in ids)
        for host_id in set(self._paths) - set(ids):
            done += self._sync_host(session, host_id, key)
        # Answers of hosts this process never wrote (removed while it was down): only the answer names.
        kept = set().union(*self._paths.values()) if self._paths else set()
        tftp = self.settings.tftp_dir
        for pattern in ("pxelinux.cfg/*", "ipxe/*.ipxe", "grub.cfg-01-*"):
            for path in tftp.glob(pattern):
                if path not in kept and _ANSWER.match(path.relative_to(tftp).as_posix()):
                    path.unlink(missing_ok=True)
                    done += 1
        return done

    def _sync_host(self, session: Session, host_id: int, key: bytes | None) -> int:
        host = session.get(Host, host_id)
        texts = self._answers(session, host, key) if host is not None else {}
        done = 0
        if texts is None:  # cannot be known here: keep whatever is there
            entry = boot.current_entry(session, host) if host is not None else None
            self._paths[host_id] = set(answer_paths(self.settings.tftp_dir, entry)) if entry else set()
            return 0
        for path in self._paths.get(host_id, set()) - set(texts):
            path.unlink(missing_ok=True)
            done += 1
        for path, text in texts.items():
            try:
                if path.read_text() == text:
                    continue
            except OSError:
                pass
            atomic_write(path, text)
            done += 1
        if texts:
            self._paths[host_id] = set(texts)
        else:
            self._paths.pop(host_id, None)
        return done

    def _answers(self, session: Session, host: Host, key: bytes | None) -> dict[Path, str] | None:
        entry = boot.current_entry(session, host)
        if entry is None:
            return {}
        token = None
        if not is_disk_boot(entry) and boot.boot_state(session, host) == "install":
            row = session.scalar(select(InstallToken).where(InstallToken.host_id == host.id,
                                                            InstallToken.revoked.is_(False))
                                 .order_by(InstallToken.id.desc()).limit(1))
            if row is not None:
                token = derived_token(key, row) if key is not None else None
                if token is None or hash_token(token) != row.token_hash:
                    self._complain(host.name, f"the install token of {host.name} was not made with this "
                                              f"instance's {self.settings.root / KEY_NAME}: its boot files "
                                              f"are left as they are (copy the key from the instance that "
                                              f"issued it)")
                    return None
        try:
            url = server_url(self.settings, session, host)
            return render_answers(self.settings.tftp_dir, entry, url, token)
        except RocksError as exc:
            self._complain(host.name, f"boot files of {host.name} not written: {exc}")
            return None

    def _complain(self, what: str, message: str) -> None:
        if what not in self._complained:
            self._complained.add(what)
            log.error("%s", message)


def follow(settings: Settings, stop: threading.Event, interval: float = 0.25,
           parent: int | None = None) -> None:
    """Keep ``settings.tftp_dir`` current until ``stop`` is set (or process ``parent`` is gone).

    One follower per TFTP tree: instances sharing a root take turns through a lock file, so one of
    them follows and another takes over when it dies."""
    tftp = settings.tftp_dir
    tftp.mkdir(parents=True, exist_ok=True)
    db = Database.from_url(settings.effective_database_url)
    follower = TftpFollower(settings, db)
    with open(tftp / ".tftpsync.lock", "w") as lock:
        held = False
        while not stop.is_set() and (parent is None or os.getppid() == parent):
            if not held:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    held = True
                except BlockingIOError:
                    stop.wait(interval)
                    continue
            try:
                follower.step()
            except Exception:  # a database hiccup: log it and try again on the next beat
                log.exception("TFTP follower could not catch up with the database")
                stop.wait(max(interval, 2.0))
            stop.wait(interval)
    db.engine.dispose()


def run_process(settings: Settings, parent: int) -> None:
    """Entry point of the follower process ``ksserver serve`` starts (multiprocessing, spawn)."""
    logging.basicConfig(level=settings.log_level.upper(), format="[%(levelname)s] %(name)s: %(message)s")
    try:
        follow(settings, threading.Event(), parent=parent)
    except KeyboardInterrupt:  # Ctrl-C reaches the whole process group
        pass
