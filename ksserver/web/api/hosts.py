"""/api/v1/hosts: the paged table, one host (ETag), add, change (If-Match), remove, bulk boot action."""

from __future__ import annotations

import dataclasses
from typing import Any

from flask import Response, jsonify, request

from ksserver.errors import Forbidden
from ksserver.inventory.hosts import HostRequest
from ksserver.services import boot, graphs, hosts, hostviews
from ksserver.services.hostviews import HostQuery, HostUpdate
from ksserver.values import parse_bool
from ksserver.web import auth
from ksserver.web.api import FieldError, bp, json_body

# API name -> `rocks set host` field
FIELDS = {"membership": "membership", "cpus": "cpus", "rack": "rack", "rank": "rank", "arch": "arch", "os": "os",
          "run_action": "runaction", "install_action": "installaction", "comment": "comment"}
INT_FIELDS = ("cpus", "rack", "rank")


def _int_arg(name: str, default: int | None) -> int | None:
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise FieldError(name, f"must be a whole number, not {raw!r}") from None


def _detail_json(d: hostviews.HostDetail) -> dict[str, Any]:
    return {**dataclasses.asdict(d.summary), "comment": d.comment, "run_action": d.run_action,
            "install_action": d.install_action, "is_vm": d.is_vm, "container": d.container,
            "interfaces": [dataclasses.asdict(i) for i in d.interfaces],
            "attributes": [{"attr": a.attr, "value": a.value, "source": a.source} for a in d.attributes],
            "partitions": [dataclasses.asdict(p) for p in d.partitions], "version": d.etag}


def _host_response(name: str, status: int = 200) -> Response:
    principal = auth.current()
    assert principal is not None
    reveal = parse_bool(request.args.get("secrets", "no")) or False
    if reveal and not principal.is_admin:
        raise Forbidden("only an admin may see secret attribute values")
    detail = hostviews.host_detail(auth.cluster(), name, reveal)
    response = jsonify(_detail_json(detail))
    response.status_code = status
    response.headers["ETag"] = f'"{detail.etag}"'
    return response


@bp.get("/hosts")
def list_hosts() -> Response:
    auth.current()
    boot_filter = request.args.get("boot") or None
    if boot_filter not in (None, "install", "os"):
        raise FieldError("boot", "must be install or os")
    per_page = _int_arg("per_page", 50)
    assert per_page is not None
    if not 1 <= per_page <= hostviews.MAX_PER_PAGE:
        raise FieldError("per_page", f"must be between 1 and {hostviews.MAX_PER_PAGE}")
    page = _int_arg("page", 1)
    if page is None or page < 1:
        raise FieldError("page", "must be 1 or more")
    result = hostviews.query_hosts(auth.cluster(), HostQuery(
        page=page, per_page=per_page, search=request.args.get("q", ""),
        appliance=request.args.get("appliance") or None, membership=request.args.get("membership") or None,
        rack=_int_arg("rack", None), boot=boot_filter, stage=request.args.get("stage") or None))
    return jsonify(items=[dataclasses.asdict(h) for h in result.hosts], total=result.total, page=result.page,
                   per_page=result.per_page)


@bp.get("/hosts/<name>")
def get_host(name: str) -> Response:
    return _host_response(name)


def _text(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise FieldError(key, "must be a string")
    return str(value)


@bp.post("/hosts")
def add_host() -> Response:
    principal = auth.admin()
    body = json_body()
    known = {"name", "membership", "rack", "rank", "cpus", "os", "arch", "ip", "mac", "network", "interface"}
    for key in body:
        if key not in known:
            raise FieldError(key, f"unknown field (known: {', '.join(sorted(known))})")
    ints: dict[str, int | None] = {}
    for key in INT_FIELDS:
        value = body.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise FieldError(key, "must be a whole number")
        ints[key] = value
    req = HostRequest(name=_text(body, "name"), membership=_text(body, "membership"), rack=ints["rack"],
                      rank=ints["rank"], cpus=ints["cpus"] or 1, os=_text(body, "os") or "linux",
                      arch=_text(body, "arch") or "x86_64", ip=_text(body, "ip"), mac=_text(body, "mac"),
                      subnet=_text(body, "network") or "private", iface=_text(body, "interface") or "eth0")
    with auth.audited(principal, "add host", req.name or "", _summary(body)):
        added = hosts.add_host(auth.cluster(), req)
    response = _host_response(added.name, 201)
    response.headers["Location"] = f"{bp.url_prefix}/hosts/{added.name}"
    return response


def _summary(body: dict[str, Any]) -> str:
    """What an audit row says was asked for; secret attribute values never enter the log."""
    from ksserver.values import MASK, is_secret_attr

    shown = dict(body)
    if isinstance(shown.get("attributes"), dict):
        shown["attributes"] = {k: (MASK if is_secret_attr(k) and v is not None else v)
                               for k, v in shown["attributes"].items()}
    return " ".join(f"{k}={v}" for k, v in sorted(shown.items()))


@bp.patch("/hosts/<name>")
def change_host(name: str) -> Response:
    principal = auth.admin()
    body = json_body()
    fields: dict[str, str] = {}
    attrs: dict[str, str | None] = {}
    boot_action = None
    for key, value in body.items():
        if key in FIELDS:
            if key in INT_FIELDS and (isinstance(value, bool) or not isinstance(value, int)):
                raise FieldError(key, "must be a whole number")
            if key not in INT_FIELDS and not isinstance(value, str):
                raise FieldError(key, "must be a string")
            fields[FIELDS[key]] = str(value)
        elif key == "boot":
            if value not in ("install", "os"):
                raise FieldError("boot", "must be install or os")
            boot_action = value
        elif key == "attributes":
            if not isinstance(value, dict):
                raise FieldError("attributes", "must be an object of name: value (null removes)")
            for attr, attr_value in value.items():
                if attr_value is not None and not isinstance(attr_value, str):
                    raise FieldError(f"attributes.{attr}", "must be a string or null")
                attrs[attr] = attr_value
        else:
            raise FieldError(key, f"cannot be changed (changeable: {', '.join([*FIELDS, 'boot', 'attributes'])})")
    if_match = request.headers.get("If-Match")
    with auth.audited(principal, "change host", name, _summary(body)):
        hostviews.update_host(auth.cluster(), name, HostUpdate(fields, attrs, boot_action), if_match)
    return _host_response(name)


@bp.delete("/hosts/<name>")
def remove_host(name: str) -> Response:
    principal = auth.admin()
    if_match = request.headers.get("If-Match")
    if if_match is not None and if_match.strip('"') != hostviews.host_detail(auth.cluster(), name).etag:
        from ksserver.errors import Conflict

        raise Conflict(f"host {name} was changed by someone else since you read it: reload and retry")
    with auth.audited(principal, "remove host", name):
        notes = hosts.remove_hosts(auth.cluster(), [name])
    return jsonify(removed=name, notes=notes)


@bp.post("/hosts/boot")
def bulk_boot() -> Response:
    principal = auth.admin()
    body = json_body()
    names = body.get("hosts")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise FieldError("hosts", "must be a non-empty list of host names")
    action = body.get("action")
    if action not in ("install", "os"):
        raise FieldError("action", "must be install or os")
    with auth.audited(principal, "set host boot", " ".join(names), f"action={action}"):
        boot.set_boot(auth.cluster(), names, action)
    return jsonify(hosts=names, action=action)


@bp.get("/hosts/<name>/kickstart")
def host_kickstart(name: str) -> Response:
    auth.admin()  # a kickstart carries the root password hash and site secrets
    text = graphs.host_kickstarts(auth.cluster(), [name])[0]
    return Response(text, mimetype="text/plain")
