"""Console pages for VMs: state and lifecycle buttons (start, stop, pause, resume, save, restore, move,
install) over ``services.vms``, and a console in the browser (noVNC through a websockify started on demand).

The console page is the only page that runs a script: our own static module (``vnc.js``) and noVNC's
files, served from this origin (CSP ``script-src 'self'``); it may open a WebSocket only to the one
websockify port it was given."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlencode

from flask import Response, current_app, redirect, request, send_from_directory, url_for

from ksserver.errors import InvalidArgument, NotFound
from ksserver.services import vmconsole, vms
from ksserver.web import auth
from ksserver.web.console import _page, bp

NOVNC_DIR = Path("/usr/share/novnc")  # Debian's novnc package
_HOSTNAME = re.compile(r"^(?:[A-Za-z0-9.\-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])$")
ACTIONS = ("start", "stop", "pause", "resume", "save", "restore", "move", "install")


def _proxies() -> vmconsole.ConsoleProxies:
    services = current_app.extensions["ksserver"]
    if not hasattr(services, "consoles"):  # one set of websockify processes per server process
        services.consoles = vmconsole.ConsoleProxies(services.settings.root / "run" / "vnc")
    return services.consoles  # type: ignore[no-any-return]


def _vm(name: str) -> vms.VmRow:
    rows = [r for r in vms.list_vms(auth.cluster(), [name], live=True) if r.name == name]
    if not rows:  # a container's name lists its VMs
        raise NotFound(f"{name} is not a VM")
    return rows[0]


@bp.get("/vms/<name>")
def vm(name: str) -> Response:
    auth.current()
    return _page("vm.html", vm=_vm(name), actions=ACTIONS, message=request.args.get("done", ""))


@bp.post("/vms/<name>")
def vm_action(name: str) -> Response:
    principal = auth.admin()
    action = request.form.get("action", "")
    if action not in ACTIONS:
        raise InvalidArgument(f"action must be one of {', '.join(ACTIONS)}")
    cluster = auth.cluster()
    target = request.form.get("container", "").strip()
    if action == "move" and not target:
        raise InvalidArgument("say which container to move the VM to")
    with auth.audited(principal, f"vm {action}", name, f"to {target}" if action == "move" else ""):
        if action == "start":
            state = vms.start_vm(cluster, name)
        elif action == "install":
            state = vms.create_vm(cluster, name)
        elif action == "save":
            state = vms.save_vm(cluster, name)
        elif action == "restore":
            state = vms.restore_vm(cluster, name)
        elif action == "move":
            state = vms.move_vm(cluster, name, target)
        else:
            state = vms.vm_power(cluster, name, action)
    done = urlencode({"done": f"{action}: {state}"})
    return redirect(url_for("console.vm", name=name) + "?" + done, code=303)  # type: ignore[return-value]


@bp.get("/vms/<name>/console")
def vm_console(name: str) -> Response:
    """Admins only: a VM's screen and keyboard are root on it."""
    auth.admin()
    host = request.host.rsplit(":", 1)[0] if not request.host.endswith("]") else request.host
    if not _HOSTNAME.match(host):  # it goes into a CSP header: no room for another directive
        raise InvalidArgument("the request's Host header is not a host name or address")
    lease = _proxies().open(vmconsole.vnc_target(auth.cluster(), name))
    response = _page("vmconsole.html", name=name, lease=lease)
    sockets = f"ws://{host}:{lease.port} wss://{host}:{lease.port}"
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; script-src 'self'; connect-src {sockets}; img-src 'self' data:; "
        "style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
    return response


@bp.get("/novnc/<path:filename>")
def novnc(filename: str) -> Response:
    auth.current()
    if not NOVNC_DIR.is_dir():
        raise InvalidArgument("the browser console needs noVNC (apt-get install novnc)")
    return send_from_directory(NOVNC_DIR, filename)
