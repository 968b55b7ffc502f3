"""Install tokens and status through the service layer, on SQLite and PostgreSQL."""

from __future__ import annotations

import time

from sqlalchemy import select

from ksserver.bootanswers import ipxe_path
from ksserver.db.models import InstallToken
from ksserver.inventory.requester import hash_token
from ksserver.services import boot, lifecycle


def _tokens(svc):  # type: ignore[no-untyped-def]
    with svc.db.session() as session:
        return {(row.token_hash, row.revoked) for row in session.scalars(select(InstallToken))}


def test_install_order_issues_one_live_token(svc):
    first = boot.set_boot(svc, ["compute-0-0", "compute-0-1"], "install")
    assert set(first) == {"compute-0-0", "compute-0-1"} and first["compute-0-0"] != first["compute-0-1"]
    again = boot.set_boot(svc, ["compute-0-0"], "install")
    live = {h for h, revoked in _tokens(svc) if not revoked}
    assert live == {hash_token(again["compute-0-0"]), hash_token(first["compute-0-1"])}
    assert first["compute-0-0"] not in str(_tokens(svc))  # only hashes are stored
    assert boot.set_boot(svc, ["compute-0-0"], "os") == {}
    assert {h for h, revoked in _tokens(svc) if not revoked} == {hash_token(first["compute-0-1"])}


def test_sync_keeps_a_running_install_token_and_replaces_missing_answers(svc):
    token = boot.set_boot(svc, ["compute-0-0"], "install")["compute-0-0"]
    answer = ipxe_path(svc.settings.tftp_dir, "52:54:00:00:01:00")
    boot.sync_boot_files(svc, ["compute-0-0"])
    assert f"token={token}" in answer.read_text()
    answer.unlink()
    boot.sync_boot_files(svc, ["compute-0-0"])
    assert "token=" in answer.read_text() and f"token={token}" not in answer.read_text()


def test_status_rows_and_stalled(svc):
    boot.set_boot(svc, ["compute-0-0"], "install")
    now = time.time()
    rows = {r.host: r for r in lifecycle.list_status(svc, ["compute-0-0", "compute-0-1"], now=now)}
    assert rows["compute-0-0"].stage == "issued" and not rows["compute-0-0"].stalled
    assert rows["compute-0-1"].stage == "" and rows["compute-0-1"].boot_action == ""
    later = now + svc.settings.install_stall_after + 1
    [row] = lifecycle.list_status(svc, ["compute-0-0"], now=later)
    assert row.stalled and row.boot_action == "install"
