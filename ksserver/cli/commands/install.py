"""rocks list host status: where each host's install is (issue #12)."""

from __future__ import annotations

import time

from ksserver.cli.context import Context
from ksserver.cli.output import emit
from ksserver.cli.registry import Call, command
from ksserver.services import lifecycle


def _when(stamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp)) if stamp else "-"


@command("list", "host", "status", summary="Show the install stage each host last reported, with times; "
                                           "'stalled' when an unfinished install has been silent longer than "
                                           "the install_stall_after setting.", args="[HOST...]", output=True)
def list_host_status(ctx: Context, call: Call) -> None:
    rows = [(r.host, r.stage or "-", "stalled" if r.stalled else "", r.boot_action or "-", _when(r.started_at),
             _when(r.updated_at), _when(r.finished_at))
            for r in lifecycle.list_status(ctx.cluster, call.args)]
    emit(ctx.out, call["output-format"], ["HOST", "STAGE", "STALLED", "BOOT", "STARTED", "UPDATED", "FINISHED"],
         rows)
