"""Boot-loader answers follow the database: collect what a transaction changed, write after commit.

Each host with a boot state has three answers (``ksserver.bootanswers``): pxelinux, GRUB2 and iPXE.
A host whose answer becomes (or is re-ordered as) *install* gets a fresh install token inside the
transaction; its plaintext exists only in the answers written after the commit.  An install answer
that did not change is left as it is, so a host in the middle of an install keeps its valid token.
Tokens are derived from the site's token key (``token_key``), so that every server instance can write the
same answers from the database (``ksserver.services.tftpsync``).
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from ksserver.bootanswers import is_disk_boot, remove_answers, render_answers
from ksserver.config import Settings
from ksserver.db import changes
from ksserver.db.models import Host, InstallStatus, InstallToken
from ksserver.errors import ConfigError, FilesNotWritten, RocksError
from ksserver.inventory import attributes, boot, bootrows, lifecycle
from ksserver.inventory.requester import hash_token
from ksserver.pxe import BootEntry, atomic_write

KEY_NAME = "install-token-key"


URL_ATTR = "Kickstart_PrivateKickstartHost"


def server_url(settings: Settings, session: Session, host: Host) -> str:
    """Where this host's installer reaches us: the setting, else its Kickstart_PrivateKickstartHost."""
    if settings.install_server_url:
        return url_of(settings, None)
    return url_of(settings, attributes.resolved_value(session, host, URL_ATTR))


def url_of(settings: Settings, private_host: str | None) -> str:
    """``server_url`` from the host's resolved ``URL_ATTR`` (unused when the setting is there)."""
    if settings.install_server_url:
        return settings.install_server_url.rstrip("/")
    return "http://" + (private_host or "127.0.0.1")


def token_key(settings: Settings, create: bool = False) -> bytes | None:
    """The site's install-token key; ``create`` makes it on first use (mode 0600), else None if absent."""
    path = settings.root / KEY_NAME
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        if not create:
            return None
    except ValueError:
        raise ConfigError(f"{path}: not a hex key (copy it from the instance that made it)") from None
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    scratch = path.with_name(f".{KEY_NAME}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(key.hex() + "\n")
    try:
        os.link(scratch, path)  # never replaces a key another process made meanwhile
    except FileExistsError:
        return token_key(settings)
    finally:
        scratch.unlink()
    return key


@dataclass
class BootFileChanges:
    """Before/after boot data of the hosts a transaction touched.

    ``track`` is called before a change, ``settle`` after it (still inside the transaction); ``apply``
    runs after the commit and brings the files in line: stale names removed, new content written."""

    settings: Settings = field(default_factory=Settings)
    _before: dict[int, BootEntry | None] = field(default_factory=dict)
    _after: dict[int, BootEntry | None] = field(default_factory=dict)
    _names: dict[int, str] = field(default_factory=dict)
    _urls: dict[int, str] = field(default_factory=dict)
    _tokens: dict[int, str] = field(default_factory=dict)
    _install: set[int] = field(default_factory=set)     # hosts whose boot state is install

    def track(self, session: Session, host: Host) -> None:
        if host.id not in self._before:
            self._before[host.id] = boot.current_entry(session, host)
            self._names[host.id] = host.name
            self._urls[host.id] = server_url(self.settings, session, host)
            if boot.boot_state(session, host) == "install":
                self._install.add(host.id)

    def settle(self, session: Session, host: Host, reissue: bool = False) -> None:
        """Record the host's new boot data.  An install answer that changed, or ``reissue``, gets a
        fresh token (the host's older ones revoked); leaving install revokes them."""
        session.flush()
        session.refresh(host)
        after = self._after[host.id] = boot.current_entry(session, host)
        installing = boot.boot_state(session, host) == "install"
        if installing:
            self._install.add(host.id)
            if reissue or after != self._before.get(host.id):
                key = token_key(self.settings, create=True)
                ttl = self.settings.install_token_ttl
                self._tokens[host.id] = lifecycle.issue_token(session, host, ttl, key=key)
        else:
            self._install.discard(host.id)
            lifecycle.revoke_tokens(session, host)

    def track_ids(self, session: Session, host_ids: Collection[int]) -> None:
        """``track`` for many hosts at once: their boot data read in one batch of queries (``bootrows``)."""
        attr = None if self.settings.install_server_url else URL_ATTR
        new = [hid for hid in host_ids if hid not in self._before]
        for hid, hb in bootrows.load(session, new, attr=attr).items():
            self._before[hid] = _entry(session, hb)
            self._names[hid] = hb.name
            self._urls[hid] = url_of(self.settings, hb.attr)
            if hb.state == "install":
                self._install.add(hid)

    def settle_ids(self, session: Session, host_ids: Collection[int],
                   reissue: bool | Collection[int] = False) -> None:
        """``settle`` for many tracked hosts at once: the same tokens issued and revoked, in bulk.
        ``reissue``: for every host, or for the hosts it holds."""
        session.flush()
        issue, leave = [], []
        for hid, hb in bootrows.load(session, host_ids).items():
            after = self._after[hid] = _entry(session, hb)
            if hb.state == "install":
                self._install.add(hid)
                again = reissue if isinstance(reissue, bool) else hid in reissue
                if again or after != self._before.get(hid):
                    issue.append(hid)
            else:
                self._install.discard(hid)
                leave.append(hid)
        _revoke_tokens(session, leave + issue)
        if issue:
            key = token_key(self.settings, create=True)
            assert key is not None
            self._tokens.update(_issue_tokens(session, issue, self.settings.install_token_ttl, key))

    def gone(self, host_id: int) -> None:
        """The host was removed: its files go."""
        self._after[host_id] = None

    def entries(self) -> dict[int, BootEntry | None]:
        """Host id -> boot data of the tracked hosts as ``track`` found it."""
        return dict(self._before)

    def __len__(self) -> int:
        return len(self._before)

    def tokens(self) -> dict[str, str]:
        """Host name -> the token issued in this transaction (for tests and shoot-node's log)."""
        return {self._names[hid]: token for hid, token in self._tokens.items()}

    def apply(self, tftp_dir: Path) -> None:
        failed = []
        for host_id, before in self._before.items():
            after = self._after.get(host_id, before)
            try:
                if before is not None and (after is None or before.ip != after.ip or before.mac != after.mac):
                    remove_answers(tftp_dir, before)
                if after is None:
                    continue
                token = self._tokens.get(host_id)
                if host_id in self._install and token is None and not is_disk_boot(after):
                    continue  # unchanged install answer: the files hold the host's valid token
                _write_changed(render_answers(tftp_dir, after, self._urls[host_id], token))
            except OSError as exc:
                failed.append(f"{self._names[host_id]} ({exc.strerror or exc})")
            except RocksError as exc:
                failed.append(f"{self._names[host_id]} ({exc})")
        if failed:
            raise FilesNotWritten(f"the database is updated, but PXE files could not be written for "
                                  f"{', '.join(failed)} in {tftp_dir}; fix that and run 'rocks sync host boot'")


def _write_changed(texts: dict[Path, str]) -> None:
    """Write the answers whose file does not already hold that text (an edit shared by 10,000 hosts
    usually changes few of them)."""
    for path, text in texts.items():
        try:
            if path.read_text() == text:
                continue
        except (OSError, UnicodeDecodeError):
            pass
        atomic_write(path, text)


def _entry(session: Session, hb: bootrows.HostBoot) -> BootEntry | None:
    """``boot.current_entry`` from batch-read data: None without a boot state; a missing boot action
    raises the same ``NotFound`` as the per-host path."""
    if hb.state is not None and hb.entry is None:
        boot.get_bootaction(session, hb.missing_action)
    return hb.entry


def _chunks(ids: list[int]) -> list[list[int]]:
    return [ids[i:i + bootrows.CHUNK] for i in range(0, len(ids), bootrows.CHUNK)]


def _revoke_tokens(session: Session, host_ids: list[int]) -> None:
    """``lifecycle.revoke_tokens`` for many hosts: one select and at most one update per chunk."""
    for chunk in _chunks(sorted(host_ids)):
        holders = sorted(set(session.scalars(select(InstallToken.host_id).where(
            InstallToken.host_id.in_(chunk), InstallToken.revoked.is_(False)))))
        if holders:  # only these hosts changed: the change log names them, not "everything"
            with changes.host_scoped(session, holders):
                session.execute(update(InstallToken).values(revoked=True).where(
                    InstallToken.host_id.in_(holders), InstallToken.revoked.is_(False)))


def _issue_tokens(session: Session, host_ids: list[int], ttl: float, key: bytes) -> dict[int, str]:
    """``lifecycle.issue_token`` (derived tokens, older ones already revoked) for many hosts: the rows
    inserted in bulk, their install status started over.  Host id -> token."""
    now = time.time()
    tokens: dict[int, str] = {}
    with changes.host_scoped(session, host_ids):
        # Bulk statements (the unit of work would insert row by row on SQLite to learn each id).
        for chunk in _chunks(host_ids):
            placeholders = [{"host_id": hid, "token_hash": hash_token(secrets.token_urlsafe(24)),
                             "expires_at": now + ttl} for hid in chunk]
            inserted = session.execute(insert(InstallToken).returning(InstallToken.id, InstallToken.host_id),
                                       placeholders).all()
            hashes = []
            for token_id, hid in inserted:  # the id is part of the derived token
                row = bootrows.TokenRow(token_id, hid, now + ttl, "")
                tokens[hid] = lifecycle.derived_token(key, row)  # type: ignore[arg-type]
                hashes.append({"id": token_id, "token_hash": hash_token(tokens[hid])})
            session.execute(update(InstallToken), hashes)
    statuses: dict[int, InstallStatus] = {}
    for chunk in _chunks(sorted(host_ids)):
        statuses.update((s.host_id, s) for s in session.scalars(
            select(InstallStatus).where(InstallStatus.host_id.in_(chunk))))
    fresh = {"stage": lifecycle.ISSUED, "started_at": now, "updated_at": now, "finished_at": 0.0, "log": ""}
    for hid, status in statuses.items():
        for name, value in fresh.items():
            setattr(status, name, value)
    new = [dict(fresh, host_id=hid) for hid in host_ids if hid not in statuses]
    if new:
        session.execute(insert(InstallStatus), new)
    session.flush()
    return tokens
