"""rocks shoot node (also the ``shoot-node`` command): reinstall hosts and follow their progress."""

from __future__ import annotations

import sys
import time

from ksserver.cli.context import Context
from ksserver.cli.registry import BOOL, Call, Param, command
from ksserver.errors import RocksError
from ksserver.services import shoot

_STYLE = {"finished": "green", "failed": "bold red", "stalled": "yellow"}


class InstallsNotFinished(RocksError):
    """Some hosts failed, stalled, could not be rebooted or did not finish in time."""


def _table(rows, shots, started: float):  # type: ignore[no-untyped-def]
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    for header in ("HOST", "METHOD", "STAGE", "FOR"):
        table.add_column(header)
    done = 0
    for row in rows:
        shot = shots[row.host]
        state = "reboot failed" if shot.error else ("stalled" if row.stalled else row.stage or "-")
        done += row.stage == "finished"
        since = f"{time.time() - row.started_at:.0f}s" if row.started_at else "-"
        table.add_row(row.host, shot.method, f"[{_STYLE.get(state, '')}]{state}[/]" if state in _STYLE else state,
                      since)
    table.add_row("total", "", f"{done}/{len(rows)} finished", f"{time.time() - started:.0f}s")
    return table


@command("shoot", "node",
         local=True, summary="Reinstall hosts: set their boot action to install (a fresh install token "
                                   "each) and reboot them (VM: libvirt; ipmi_address attribute: ipmitool; "
                                   "else ssh), then follow their install status.", args="HOST [HOST...]",
         min_args=1, params={"follow": Param("show progress until every host finished, failed or stalled", BOOL,
                                             True),
                             "timeout": Param("seconds to follow before giving up", default="7200"),
                             "poll": Param("seconds between status checks", default="2")},
         details="Exits non-zero when a host could not be rebooted, failed, stalled (install_stall_after) or "
                 "did not finish within timeout. Also installed as the shoot-node command.")
def shoot_node(ctx: Context, call: Call) -> None:
    from rich.console import Console
    from rich.live import Live

    shots = {s.host: s for s in shoot.shoot(ctx.cluster, call.args)}
    for s in shots.values():
        if s.error:
            ctx.err.write(f"{s.host}: {s.error}\n")
    if not call["follow"]:
        bad = sorted(h for h, s in shots.items() if s.error)
        if bad:
            raise InstallsNotFinished(f"could not reboot {', '.join(bad)}")
        return
    console = Console(file=ctx.out, force_terminal=ctx.out.isatty() if hasattr(ctx.out, "isatty") else False)
    started = time.time()
    rows = []
    with Live(console=console, auto_refresh=False, transient=False) as live:
        for rows in shoot.follow(ctx.cluster, list(shots), float(call["timeout"]), float(call["poll"])):
            live.update(_table(rows, shots, started), refresh=True)
    bad = [r.host for r in rows if shots[r.host].error or r.stage != "finished"]
    if bad:
        raise InstallsNotFinished(f"not installed: {', '.join(sorted(bad))}")


def main() -> None:
    """The ``shoot-node HOST...`` console script: ``rocks shoot node HOST...``."""
    from ksserver.cli import run

    try:
        code = run(["shoot", "node", *sys.argv[1:]])
    except KeyboardInterrupt:
        code = 130
    sys.exit(code)
