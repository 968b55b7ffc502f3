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
from ksserver.db.models import Change
from ksserver.db.session import Database
from ksserver.errors import RocksError
from ksserver.inventory import bootrows
from ksserver.inventory.lifecycle import derived_token
from ksserver.inventory.requester import hash_token
from ksserver.pxe import atomic_write
from ksserver.services.bootfiles import KEY_NAME, URL_ATTR, token_key, url_of

log = logging.getLogger("ksserver.tftpsync")
# The per-host answers bootanswers writes; nothing else in the tree (kernels, pxelinux.cfg/default) is ours.
_MAC = r"[0-9a-f]{2}(?:-[0-9a-f]{2}){5}"
_ANSWER = re.compile(rf"^(?:pxelinux\.cfg/[0-9A-F]{{8}}|ipxe/{_MAC}\.ipxe|grub\.cfg-01-{_MAC})$")


class TftpFollower:
    """Catches one TFTP tree up with the change log, one ``step`` at a time (tests call it directly).

    Every pass reads the boot data of the hosts it covers (all hosts with a boot state after a shared
    change, else the hosts the new change rows name) in one batch of set-based queries (``bootrows``),
    renders their answers in memory, and writes only the files whose text differs."""

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
                done = self._sync_hosts(session, set(reload), key) if reload else 0
            self.seq = max([top] + [s for s, _ in rows])
            return done

    def _sync_all(self, session: Session, key: bytes | None) -> int:
        done = self._sync_hosts(session, None, key)
        # Answers of hosts this process never wrote (removed while it was down): only the answer names.
        kept = set().union(*self._paths.values()) if self._paths else set()
        tftp = self.settings.tftp_dir
        for pattern in ("pxelinux.cfg/*", "ipxe/*.ipxe", "grub.cfg-01-*"):
            for path in tftp.glob(pattern):
                if path not in kept and _ANSWER.match(path.relative_to(tftp).as_posix()):
                    path.unlink(missing_ok=True)
                    done += 1
        return done

    def _sync_hosts(self, session: Session, host_ids: set[int] | None, key: bytes | None) -> int:
        """Bring the answers of ``host_ids`` (None: every host) in line with the database."""
        attr = None if self.settings.install_server_url else URL_ATTR
        data = bootrows.load(session, host_ids, attr=attr)
        # None also covers the hosts this process wrote that lost their boot state or are gone.
        wanted = set(data) | set(self._paths) if host_ids is None else host_ids
        done = 0
        for host_id in wanted:
            hb = data.get(host_id)
            texts = self._answers(hb, key) if hb is not None else {}
            if texts is None:  # cannot be known here: keep whatever is there
                if hb is not None and hb.entry is not None:
                    self._paths[host_id] = set(answer_paths(self.settings.tftp_dir, hb.entry))
                continue
            done += self._write(host_id, texts)
        return done

    def _write(self, host_id: int, texts: dict[Path, str]) -> int:
        done = 0
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

    def _answers(self, hb: bootrows.HostBoot, key: bytes | None) -> dict[Path, str] | None:
        if hb.state is None:
            return {}
        if hb.entry is None:
            self._complain(hb.name, f"boot files of {hb.name} not written: its boot action "
                                    f"{hb.missing_action!r} does not exist")
            return None
        token = None
        if not is_disk_boot(hb.entry) and hb.state == "install" and hb.token is not None:
            row = hb.token
            token = derived_token(key, row) if key is not None else None  # type: ignore[arg-type]
            if token is None or hash_token(token) != row.token_hash:
                self._complain(hb.name, f"the install token of {hb.name} was not made with this "
                                        f"instance's {self.settings.root / KEY_NAME}: its boot files "
                                        f"are left as they are (copy the key from the instance that "
                                        f"issued it)")
                return None
        try:
            return render_answers(self.settings.tftp_dir, hb.entry, url_of(self.settings, hb.attr), token)
        except RocksError as exc:
            self._complain(hb.name, f"boot files of {hb.name} not written: {exc}")
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
