"""The install lifecycle of a host: install tokens (issued, revoked) and the reported install stage.

A token is a random secret put on the host's install kernel line; only its SHA-256 is stored.  Issuing
one revokes the host's older tokens, so the boot file the host fetches holds the only valid one.  The
token stays valid until the install reports ``finished`` (then it is revoked) or it expires.

With the site's token key (``<root>/install-token-key``, the same file on every server instance), the
token is derived from that key and its row rather than drawn at random: every instance can then write
the same boot files from the database (``ksserver.services.tftpsync``) while the database holds only
the hash.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time

from sqlalchemy import select
from sqlalchemy.orm import Session

from ksserver.db.models import Host, InstallStatus, InstallToken
from ksserver.errors import InvalidArgument
from ksserver.inventory.requester import hash_token

# The stages an installer reports, in install order; 'finished' and 'failed' end an install.
STAGES = ("kickstart", "pre", "partition", "packages", "post", "finished", "failed")
ISSUED = "issued"           # ordered (token issued), nothing reported yet
FINAL = ("finished", "failed")


def derived_token(key: bytes, row: InstallToken) -> str:
    """The token of ``row`` under the site's token key: 192 bits, like a random one."""
    message = f"ksserver-install-token:{row.id}:{row.host_id}:{row.expires_at:.6f}".encode()
    return base64.urlsafe_b64encode(hmac.new(key, message, hashlib.sha256).digest()[:24]).decode()


def issue_token(session: Session, host: Host, ttl: float, now: float | None = None,
                key: bytes | None = None) -> str:
    """A fresh token for ``host`` (its older ones revoked); its install status starts over.
    ``key``: derive it from the site's token key (see the module doc) instead of drawing it at random."""
    now = time.time() if now is None else now
    revoke_tokens(session, host)
    token = secrets.token_urlsafe(24)  # 192 bits, URL- and kernel-command-line-safe characters
    row = InstallToken(host_id=host.id, token_hash=hash_token(token), expires_at=now + ttl)
    session.add(row)
    if key is not None:
        session.flush()  # the row's id is part of the derived token
        token = derived_token(key, row)
        row.token_hash = hash_token(token)
    status = status_row(session, host)
    status.stage, status.started_at, status.updated_at = ISSUED, now, now
    status.finished_at, status.log = 0.0, ""
    session.flush()
    return token


def revoke_tokens(session: Session, host: Host) -> None:
    tokens = session.scalars(select(InstallToken).where(InstallToken.host_id == host.id,
                                                        InstallToken.revoked.is_(False)))
    for row in tokens:  # ORM updates, so the change log notes the host and servers drop the token
        row.revoked = True
    session.flush()


def status_row(session: Session, host: Host) -> InstallStatus:
    row = session.scalar(select(InstallStatus).where(InstallStatus.host_id == host.id))
    if row is None:
        row = InstallStatus(host_id=host.id, stage="", started_at=0.0, updated_at=0.0, finished_at=0.0, log="")
        session.add(row)
    return row


def get_status(session: Session, host: Host) -> InstallStatus | None:
    return session.scalar(select(InstallStatus).where(InstallStatus.host_id == host.id))


def validate_stage(stage: str) -> str:
    if stage not in STAGES:
        raise InvalidArgument(f"unknown install stage {stage!r} (one of {', '.join(STAGES)})")
    return stage


def record_stage(session: Session, host: Host, stage: str, log: str = "", now: float | None = None) -> InstallStatus:
    now = time.time() if now is None else now
    row = status_row(session, host)
    if not row.started_at:
        row.started_at = now
    row.stage, row.updated_at = validate_stage(stage), now
    if stage in FINAL:
        row.finished_at = now
    if stage == "failed":
        row.log = log
    session.flush()
    return row


def is_stalled(row: InstallStatus, stall_after: float, now: float | None = None) -> bool:
    """An unfinished install silent for longer than ``stall_after`` seconds."""
    now = time.time() if now is None else now
    return row.stage not in FINAL and bool(row.stage) and now - row.updated_at > stall_after
