"""/api/v1: appliances, memberships, networks, boot actions, attributes at each scope, VMs, audit."""

from __future__ import annotations

import dataclasses

from flask import Response, jsonify, request

from ksserver.errors import Forbidden
from ksserver.services import accounts, appliances, attrs, boot, vms
from ksserver.values import is_secret_attr, parse_bool
from ksserver.web import auth
from ksserver.web.api import FieldError, bp, json_body

VM_ACTIONS = ("install", "start", "stop", "pause", "resume", "save", "restore", "move")


@bp.get("/whoami")
def whoami() -> Response:
    principal = auth.current()
    assert principal is not None
    return jsonify(name=principal.name, role=principal.role)


@bp.get("/appliances")
def list_appliances() -> Response:
    auth.current()
    return jsonify(items=[dataclasses.asdict(a) for a in appliances.list_appliances(auth.cluster(), [])])


@bp.get("/memberships")
def list_memberships() -> Response:
    auth.current()
    return jsonify(items=[{"name": m, "appliance": a} for m, a in appliances.list_memberships(auth.cluster())])


@bp.get("/networks")
def list_networks() -> Response:
    auth.current()
    from ksserver.services import networks

    return jsonify(items=[dataclasses.asdict(n) for n in networks.list_networks(auth.cluster(), [])])


@bp.get("/bootactions")
def list_bootactions() -> Response:
    auth.current()
    return jsonify(items=[dataclasses.asdict(b) for b in boot.list_bootactions(auth.cluster())])


def _reveal() -> bool:
    principal = auth.current()
    assert principal is not None
    reveal = parse_bool(request.args.get("secrets", "no")) or False
    if reveal and not principal.is_admin:
        raise Forbidden("only an admin may see secret attribute values")
    return reveal


def _scope(scope: str, target: str | None) -> tuple[str, list[str]]:
    if scope not in attrs.SCOPES:
        raise FieldError("scope", f"must be one of {', '.join(attrs.SCOPES)}")
    return scope, [target] if target else []


@bp.get("/attributes/<scope>")
@bp.get("/attributes/<scope>/<target>")
def list_attributes(scope: str, target: str | None = None) -> Response:
    reveal = _reveal()
    scope, targets = _scope(scope, target)
    if scope == "host":
        rows = attrs.host_attrs(auth.cluster(), targets, reveal=reveal)
    else:
        rows = attrs.list_attrs(auth.cluster(), scope, targets, reveal=reveal)
    return jsonify(items=[dataclasses.asdict(r) for r in rows])


def _attr_target(scope: str, target: str | None) -> list[str]:
    if scope not in attrs.SCOPES:
        raise FieldError("scope", f"must be one of {', '.join(attrs.SCOPES)}")
    return [target] if target else []


@bp.put("/attributes/global/<attr>", defaults={"scope": "global", "target": None})
@bp.put("/attributes/<scope>/<target>/<attr>")
def set_attribute(scope: str, target: str | None, attr: str) -> Response:
    principal = auth.admin()
    targets = _attr_target(scope, target)
    value = json_body().get("value")
    if not isinstance(value, str):
        raise FieldError("value", "must be a string")
    shown = "********" if is_secret_attr(attr) else value
    with auth.audited(principal, f"set {scope} attr", " ".join(targets), f"{attr}={shown}"):
        attrs.set_attr(auth.cluster(), scope, targets, attr, value)
    return jsonify(scope=scope, target=target or "", attr=attr)


@bp.delete("/attributes/global/<attr>", defaults={"scope": "global", "target": None})
@bp.delete("/attributes/<scope>/<target>/<attr>")
def remove_attribute(scope: str, target: str | None, attr: str) -> Response:
    principal = auth.admin()
    targets = _attr_target(scope, target)
    with auth.audited(principal, f"remove {scope} attr", " ".join(targets), attr):
        attrs.remove_attr(auth.cluster(), scope, targets, attr)
    return jsonify(scope=scope, target=target or "", attr=attr)


@bp.get("/vms")
def list_vms() -> Response:
    auth.current()
    live = parse_bool(request.args.get("live", "yes"))
    rows = vms.list_vms(auth.cluster(), [], live=live is not False)
    return jsonify(items=[{**dataclasses.asdict(r), "macs": list(r.macs), "disks": list(r.disks),
                           "disksizes": list(r.disksizes)} for r in rows])


@bp.post("/vms/<name>/actions")
def vm_action(name: str) -> Response:
    principal = auth.admin()
    body = json_body()
    action, container = body.get("action"), body.get("container")
    if action not in VM_ACTIONS:
        raise FieldError("action", f"must be one of {', '.join(VM_ACTIONS)}")
    if action == "move" and not (isinstance(container, str) and container.strip()):
        raise FieldError("container", "move needs the name of the container to move the VM to")
    with auth.audited(principal, f"vm {action}", name, f"to {container}" if action == "move" else ""):
        if action == "install":
            state = vms.create_vm(auth.cluster(), name)
        elif action == "start":
            state = vms.start_vm(auth.cluster(), name)
        elif action == "save":
            state = vms.save_vm(auth.cluster(), name)
        elif action == "restore":
            state = vms.restore_vm(auth.cluster(), name)
        elif action == "move":
            state = vms.move_vm(auth.cluster(), name, container.strip())
        else:
            state = vms.vm_power(auth.cluster(), name, action)
    return jsonify(name=name, action=action, state=state)


@bp.get("/audit")
def list_audit() -> Response:
    auth.admin()
    limit = request.args.get("limit", "100")
    if not limit.isdigit():
        raise FieldError("limit", "must be a whole number")
    return jsonify(items=[dataclasses.asdict(r) for r in accounts.list_audit(auth.cluster(), int(limit),
                                                                            request.args.get("actor"))])
