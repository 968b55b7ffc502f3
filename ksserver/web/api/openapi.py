"""The OpenAPI 3.1 document of /api/v1 (served at /api/v1/openapi.json; docs/api.md is generated from
it by ``python -m ksserver.web.api.docgen``, and tests check real responses against its schemas)."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

from ksserver.web.api import bp

S: dict[str, Any] = {"type": "string"}
I: dict[str, Any] = {"type": "integer"}
B: dict[str, Any] = {"type": "boolean"}
S_OR_NULL: dict[str, Any] = {"type": ["string", "null"]}


def _obj(props: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {"type": "object", "properties": props, "required": list(props) if required is None else required,
            "additionalProperties": False}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _items(name: str) -> dict[str, Any]:
    return _obj({"items": {"type": "array", "items": _ref(name)}})


HOST_SUMMARY = {"name": S, "membership": S, "appliance": S, "rack": I, "rank": I, "cpus": I, "arch": S, "os": S,
                "boot": {"enum": ["install", "os"]}, "ip": S_OR_NULL, "mac": S_OR_NULL}

SCHEMAS: dict[str, Any] = {
    "Error": _obj({"error": S, "status": I, "field": S}, ["error", "status"]),
    "Whoami": _obj({"name": S, "role": {"enum": ["admin", "readonly"]}}),
    "HostSummary": _obj(HOST_SUMMARY),
    "HostPage": _obj({"items": {"type": "array", "items": _ref("HostSummary")}, "total": I, "page": I,
                      "per_page": I}),
    "Interface": _obj({"device": S, "mac": S_OR_NULL, "ip": S_OR_NULL, "network": S_OR_NULL, "name": S_OR_NULL,
                       "vlan": {"type": ["integer", "null"]}, "module": S_OR_NULL, "options": S_OR_NULL}),
    "Attribute": _obj({"attr": S, "value": S, "source": {"enum": ["global", "os", "appliance", "host",
                                                                  "intrinsic"]}}),
    "ScopedAttribute": _obj({"target": S, "attr": S, "value": S, "source": S}),
    "Partition": _obj({"device": S, "mountpoint": S, "size": S, "fstype": S, "partition_id": S, "flags": S}),
    "Host": _obj({**HOST_SUMMARY, "comment": S, "run_action": S, "install_action": S, "is_vm": B,
                  "container": S_OR_NULL, "interfaces": {"type": "array", "items": _ref("Interface")},
                  "attributes": {"type": "array", "items": _ref("Attribute")},
                  "partitions": {"type": "array", "items": _ref("Partition")}, "version": S}),
    "NewHost": _obj({"name": S, "membership": S, "rack": I, "rank": I, "cpus": I, "os": S, "arch": S, "ip": S,
                     "mac": S, "network": S, "interface": S}, []),
    "HostChange": _obj({"membership": S, "cpus": I, "rack": I, "rank": I, "arch": S, "os": S, "run_action": S,
                        "install_action": S, "comment": S, "boot": {"enum": ["install", "os"]},
                        "attributes": {"type": "object", "additionalProperties": S_OR_NULL}}, []),
    "BulkBoot": _obj({"hosts": {"type": "array", "items": S, "minItems": 1}, "action": {"enum": ["install", "os"]}}),
    "Removed": _obj({"removed": S, "notes": {"type": "array", "items": S}}),
    "Appliance": _obj({"name": S, "graph": S, "node": S, "os": S, "public": B}),
    "Membership": _obj({"name": S, "appliance": S}),
    "Network": _obj({"name": S, "subnet": S, "netmask": S, "mtu": I, "dnszone": S, "servedns": B,
                     "provisioning": B, "discovery": B}),
    "BootAction": _obj({"action": S, "kernel": S, "ramdisk": S, "args": S}),
    "AttributeValue": _obj({"value": S}),
    "AttributeChanged": _obj({"scope": S, "target": S, "attr": S}),
    "Vm": _obj({"name": S, "slice": I, "mem": I, "cpus": I, "macs": {"type": "array", "items": S},
                "container": S, "virt_type": S, "disks": {"type": "array", "items": S},
                "disksizes": {"type": "array", "items": I}, "status": S}),
    "VmAction": _obj({"action": {"enum": ["install", "start", "stop", "pause", "resume", "save", "restore",
                                          "move"]},
                      "container": S}, ["action"]),
    "VmActionDone": _obj({"name": S, "action": S, "state": S}),
    "AuditEntry": _obj({"at": {"type": "number"}, "actor": S, "action": S, "target": S, "detail": S}),
    "BuildProblem": _obj({"message": S, "host": S, "file": S, "line": {"type": ["integer", "null"]},
                          "column": {"type": ["integer", "null"]}}),
    "Build": _obj({"id": I, "state": {"enum": ["queued", "running", "succeeded", "failed"]}, "arch": S,
                   "requested_by": S, "progress": S, "percent": I, "created_at": {"type": "number"},
                   "started_at": {"type": "number"}, "finished_at": {"type": "number"}, "generation": S,
                   "hosts": I, "error": S, "failures": {"type": "array", "items": _ref("BuildProblem")},
                   "warnings": {"type": "array", "items": S}, "undefined": {"type": "array", "items": S},
                   "finished": B}),
    "NewBuild": _obj({"arch": S}, []),
    "Distribution": _obj({"name": S, "arch": S, "tree": S, "boot_dir": S, "kernel": S, "initrd": S, "source": S,
                          "family": S, "version": S, "repos": {"type": "array", "items": S}, "files": I}),
    "PartitionPlan": _obj({"host": S, "text": S, "stop": S, "problems": {"type": "array", "items": S},
                           "directives": {"type": "array", "items": S}, "user_partition_info": S}),
    "Roll": _obj({"name": S, "path": S, "graphs": {"enum": ["add", "replace"]}, "version": S, "enabled": B}),
    "InstallStatus": _obj({"host": S, "stage": S, "started_at": {"type": "number"},
                           "updated_at": {"type": "number"}, "finished_at": {"type": "number"},
                           "boot_action": S, "stalled": B, "log": S}),
    "RecordedPartition": _obj({"host": S, "device": S, "mountpoint": S, "start": S, "size": S, "partition_id": S,
                               "fstype": S, "flags": S, "format_flags": S}),
    "Partitioning": _obj({"host": S, "reset": B, "plan": S,
                          "partitions": {"type": "array", "items": _ref("RecordedPartition")}}),
    "SiteFileChange": _obj({"label": S, "relpath": S, "change": {"enum": ["added", "changed", "removed"]},
                            "path": S}),
}
for _name in ("Distribution", "Roll", "Build", "SiteFileChange", "Appliance", "Membership", "Network", "BootAction", "ScopedAttribute", "Vm", "AuditEntry"):
    SCHEMAS[_name + "List"] = _items(_name)


def _json(name: str, description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(name)}}}


_ERRORS = {"400": _json("Error", "invalid request; `field` names the value at fault"),
           "401": _json("Error", "no or unknown credentials"),
           "403": _json("Error", "read-only account, or a missing CSRF token with a session cookie"),
           "404": _json("Error", "no such resource")}
_WRITE_ERRORS = {**_ERRORS, "409": _json("Error", "already exists"),
                 "412": _json("Error", "If-Match names a version someone else has replaced"),
                 "428": _json("Error", "If-Match missing")}


def _param(name: str, where: str, description: str, schema: dict[str, Any] | None = None,
           required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": where, "description": description, "required": required or where == "path",
            "schema": schema or S}


def _op(summary: str, responses: dict[str, Any], params: list[dict[str, Any]] | None = None,
        body: str | None = None, write: bool = False) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": {**responses, **(_WRITE_ERRORS if write else _ERRORS)}}
    if params:
        op["parameters"] = params
    if body:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": _ref(body)}}}
    return op


NAME = _param("name", "path", "host name")
SECRETS = _param("secrets", "query", "yes: show secret attribute values (admins only)", {"enum": ["yes", "no"]})
IF_MATCH = _param("If-Match", "header", "the ETag (version) of the host you read", required=True)
SCOPE = _param("scope", "path", "attribute scope", {"enum": ["global", "os", "appliance", "host"]})
TARGET = _param("target", "path", "the os, appliance or host")
ATTR = _param("attr", "path", "attribute name")
ETAG_HEADER = {"ETag": {"description": "the host's version, for If-Match", "schema": S}}

PATHS: dict[str, Any] = {
    "/whoami": {"get": _op("The caller's account and role", {"200": _json("Whoami")})},
    "/hosts": {
        "get": _op("Hosts, paged and filtered in the database", {"200": _json("HostPage")}, [
            _param("page", "query", "page number, from 1", I),
            _param("per_page", "query", "hosts per page (1-500, default 50)", I),
            _param("q", "query", "part of a host name, or the start of an IP or MAC"),
            _param("appliance", "query", "appliance name"), _param("membership", "query", "membership name"),
            _param("rack", "query", "rack number", I),
            _param("boot", "query", "next boot action", {"enum": ["install", "os"]}),
            _param("stage", "query", "install stage", {"enum": ["issued", "kickstart", "pre", "partition", "packages",
                                                              "post", "finished", "failed"]})]),
        "post": _op("Add a host (name, rack, rank and IP inferred or allocated as by `rocks add host`)",
                    {"201": {**_json("Host", "created"), "headers": ETAG_HEADER}}, body="NewHost", write=True)},
    "/hosts/{name}": {
        "get": _op("One host: interfaces, attributes with their source, partitions, boot action",
                   {"200": {**_json("Host"), "headers": ETAG_HEADER}}, [NAME, SECRETS]),
        "patch": _op("Change fields, own attributes (null removes) and the boot action of a host",
                     {"200": {**_json("Host"), "headers": ETAG_HEADER}}, [NAME, IF_MATCH], "HostChange", True),
        "delete": _op("Remove a host (If-Match optional)", {"200": _json("Removed")},
                      [NAME, {**IF_MATCH, "required": False}], write=True)},
    "/hosts/{name}/kickstart": {
        "get": _op("The kickstart the host gets (admins only)",
                   {"200": {"description": "kickstart text", "content": {"text/plain": {"schema": S}}}}, [NAME])},
    "/hosts/{name}/install": {
        "get": _op("The host's install: stage, times, stalled (the failure log for admins only)",
                   {"200": _json("InstallStatus")}, [NAME])},
    "/hosts/{name}/partitioning": {
        "get": _op("Recorded partitions, a pending one-shot reset, the plan of a stopped install",
                   {"200": _json("Partitioning")}, [NAME])},
    "/hosts/{name}/partition-plan": {
        "get": _op("The plan the host's next install would follow, from its last report (admins only; runs the "
                   "site's partitioning programs in a sandbox; 404 before the host's first report)",
                   {"200": _json("PartitionPlan")}, [NAME])},
    "/distributions": {"get": _op("Imported OS trees and their boot images", {"200": _json("DistributionList")})},
    "/rolls": {"get": _op("Rolls of the node library, in order", {"200": _json("RollList")})},
    "/hosts/boot": {"post": _op("Set the next boot action of many hosts", {"200": _json("BulkBoot")},
                                body="BulkBoot", write=True)},
    "/appliances": {"get": _op("Appliances", {"200": _json("ApplianceList")})},
    "/memberships": {"get": _op("Memberships", {"200": _json("MembershipList")})},
    "/networks": {"get": _op("Networks", {"200": _json("NetworkList")})},
    "/bootactions": {"get": _op("Boot actions", {"200": _json("BootActionList")})},
    "/attributes/{scope}": {"get": _op("Attributes set at a scope (os, appliance: all of them)",
                                       {"200": _json("ScopedAttributeList")}, [SCOPE, SECRETS])},
    "/attributes/{scope}/{target}": {"get": _op("Attributes of one os or appliance, or a host's resolved ones",
                                                {"200": _json("ScopedAttributeList")}, [SCOPE, TARGET, SECRETS])},
    "/attributes/global/{attr}": {
        "put": _op("Set a global attribute", {"200": _json("AttributeChanged")}, [ATTR], "AttributeValue", True),
        "delete": _op("Remove a global attribute", {"200": _json("AttributeChanged")}, [ATTR], write=True)},
    "/attributes/{scope}/{target}/{attr}": {
        "put": _op("Set an attribute of an os, appliance or host", {"200": _json("AttributeChanged")},
                   [SCOPE, TARGET, ATTR], "AttributeValue", True),
        "delete": _op("Remove an attribute of an os, appliance or host", {"200": _json("AttributeChanged")},
                      [SCOPE, TARGET, ATTR], write=True)},
    "/vms": {"get": _op("VMs with their live state from their containers", {"200": _json("VmList")},
                        [_param("live", "query", "no: skip asking libvirt", {"enum": ["yes", "no"]})])},
    "/vms/{name}/actions": {"post": _op("install (PXE boot), start, stop, pause, resume, save, restore or move "
                                        "(to `container`) a VM",
                                        {"200": _json("VmActionDone")}, [_param("name", "path", "VM name")],
                                        "VmAction", True)},
    "/builds": {
        "get": _op("Builds, newest first", {"200": _json("BuildList")},
                   [_param("limit", "query", "newest N builds (1-200, default 20)", I)]),
        "post": _op("Start `rocks-dist dist` as a job (one at a time; 409 while one runs); poll the Location",
                    {"202": {**_json("Build", "queued"),
                             "headers": {"Location": {"description": "the build's URL", "schema": S}}}},
                    body="NewBuild", write=True)},
    "/builds/{id}": {"get": _op("One build: state, progress, failures with file, line and column",
                                {"200": _json("Build")}, [_param("id", "path", "build id", I)])},
    "/site/changes": {"get": _op("Node and graph files changed since the published generation",
                                 {"200": _json("SiteFileChangeList")})},
    "/audit": {"get": _op("Who changed what through the API and the console (admins only)",
                          {"200": _json("AuditEntryList")},
                          [_param("limit", "query", "newest N entries", I), _param("actor", "query", "one user")])},
}


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "ksserver REST API", "version": "1",
                 "description": "Cluster inventory for admins and scripts. Authenticate with "
                                "`Authorization: Bearer TOKEN` (`rocks add user token NAME`, or the admin token "
                                "`rocks init` writes) or a console session (then unsafe requests need the "
                                "`X-CSRF-Token` header). Writes need the admin role and are audited."},
        "servers": [{"url": "/api/v1"}],
        "components": {"schemas": SCHEMAS,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                                           "session": {"type": "apiKey", "in": "cookie",
                                                       "name": "ksserver_session"}}},
        "security": [{"bearer": []}, {"session": []}],
        "paths": PATHS,
    }


@bp.get("/openapi.json")
def openapi_json() -> Response:
    return jsonify(document())
