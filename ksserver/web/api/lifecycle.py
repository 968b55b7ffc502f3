"""/api/v1: distributions, rolls, and a host's install status and partitioning state."""

from __future__ import annotations

import dataclasses

from flask import Response, jsonify

from ksserver.services import hosts, lifecycle, ostrees, partitions, rolls
from ksserver.web import auth
from ksserver.web.api import bp


@bp.get("/distributions")
def list_distributions() -> Response:
    auth.current()
    return jsonify(items=[d.to_json() for d in ostrees.list_distributions(auth.cluster())])


@bp.get("/rolls")
def list_rolls() -> Response:
    auth.current()
    return jsonify(items=[dataclasses.asdict(r) for r in rolls.list_rolls(auth.cluster())])


@bp.get("/hosts/<name>/install")
def host_install(name: str) -> Response:
    """The host's install: stage, times, stalled; the failure log only for admins."""
    principal = auth.current()
    assert principal is not None
    hosts.list_hosts(auth.cluster(), [name])  # an unknown host is a 404, not an empty answer
    row = lifecycle.list_status(auth.cluster(), [name])[0]
    data = dataclasses.asdict(row)
    if not principal.is_admin:
        data["log"] = ""
    return jsonify(data)


@bp.get("/hosts/<name>/partitioning")
def host_partitioning(name: str) -> Response:
    """Recorded partitions, a pending one-shot reset and the plan of a stopped install."""
    auth.current()
    cluster = auth.cluster()
    hosts.list_hosts(cluster, [name])
    states = partitions.partition_states(cluster, [name])  # only hosts with something pending are listed
    reset, plan = (states[0].reset, states[0].plan_text) if states else (False, "")
    rows = [dataclasses.asdict(p) for p in partitions.list_partitions(cluster, [name])]
    return jsonify(host=name, reset=reset, plan=plan, partitions=rows)


@bp.get("/hosts/<name>/partition-plan")
def host_partition_plan(name: str) -> Response:
    """The plan the host's next install would follow (admins only: it runs the site's partitioning programs
    in the sandbox of ``rocks report host partition``)."""
    auth.admin()
    result = partitions.report_plan(auth.cluster(), name)
    plan = result.plan
    return jsonify(host=name, text=plan.explain(), stop=plan.stop, problems=plan.problems,
                   directives=plan.directives if not plan.stop else [], user_partition_info=result.user_info)
