"""VM pages against libvirt's test driver: state, lifecycle buttons (admin + CSRF only), the console
page (noVNC through websockify, its CSP) and the websockify target from the live domain XML; a real
websockify relays a WebSocket to a VNC-speaking socket (a stand-in for the VM's display: the test
driver has no display to connect to)."""

from __future__ import annotations

import base64
import os
import re
import shutil
import socket
import threading

import pytest

from ksserver.errors import InvalidArgument
from ksserver.services import vmconsole
from tests.web.consoleclient import csrf as _csrf
from tests.web.consoleclient import login as _login

pytest.importorskip("libvirt", reason="libvirt-python not installed")
VNC_XML = """<domain type='test'><name>{name}</name><memory>524288</memory><os><type>hvm</type></os>
<devices><graphics type='vnc' port='{port}' autoport='no' listen='{listen}'/></devices></domain>"""


def _client(app, user: str, password: str):  # type: ignore[no-untyped-def]
    client = app.test_client()
    assert _login(client, user, password).status_code == 303
    return client


def test_vm_page_and_lifecycle_buttons(vm_app, tokens):
    app, name, _ = vm_app
    admin, reader = _client(app, "alice", "alice-password"), _client(app, "rita", "rita-password")
    page = reader.get(f"/console/vms/{name}").get_data(as_text=True)
    assert 'id="vm-state">' in page and "vm-container-0-0" in page and 'id="vm-start"' not in page
    assert reader.post(f"/console/vms/{name}", data={"action": "install",
                                                     "csrf_token": _csrf(reader)}).status_code == 403
    assert admin.post(f"/console/vms/{name}", data={"action": "install"}).status_code == 403  # no CSRF
    token = _csrf(admin, f"/console/vms/{name}")
    steps = (("install", "active"), ("pause", "paused"), ("resume", "active"), ("stop", "shutoff"))
    for action, state in steps:
        done = admin.post(f"/console/vms/{name}", data={"action": action, "csrf_token": token})
        assert done.status_code == 303, done.get_data(as_text=True)
        assert f'id="vm-state">{state}<' in admin.get(done.headers["Location"]).get_data(as_text=True)
    for bad in ({"action": "reboot"}, {"action": "move"}):
        assert admin.post(f"/console/vms/{name}", data={**bad, "csrf_token": token}).status_code == 400
    assert admin.get("/console/vms/compute-0-0").status_code == 404           # a host that is no VM
    assert admin.get("/console/vms/vm-container-0-0").status_code == 404      # nor is a container
    assert 'id="vm-page"' in admin.get(f"/console/hosts/{name}").get_data(as_text=True)
    overview = admin.get("/console/overview").get_data(as_text=True)
    assert f'href="/console/vms/{name}">{name}</a>' in overview


def test_vnc_target_from_domain_xml():
    xml = VNC_XML.format(name="v", port=5901, listen="127.0.0.1")
    assert vmconsole.target_from_xml(xml, "qemu:///system", "v", "c").host == "127.0.0.1"
    with pytest.raises(InvalidArgument, match="loopback of container c"):
        vmconsole.target_from_xml(xml, "qemu+ssh://c.local/system", "v", "c")
    anywhere = VNC_XML.format(name="v", port=5902, listen="0.0.0.0")
    assert vmconsole.target_from_xml(anywhere, "qemu+ssh://c.local/system", "v", "c").host == "c.local"
    unallocated = VNC_XML.format(name="v", port=-1, listen="127.0.0.1")
    with pytest.raises(InvalidArgument, match="no VNC port yet"):
        vmconsole.target_from_xml(unallocated, "test:///x", "v", "c")


def _vnc_standin() -> tuple[socket.socket, threading.Thread]:
    """A socket that greets like a VNC server (RFB 3.8), standing in for a VM display."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            conn.sendall(b"RFB 003.008\n")
            conn.recv(64)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return server, thread


def _websocket_first_frame(port: int, token: str) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    with socket.create_connection(("127.0.0.1", port), timeout=20) as s:
        s.sendall(f"GET /?token={token} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                  "Sec-WebSocket-Protocol: binary\r\n\r\n".encode())
        data = b""
        while b"RFB" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    return data


@pytest.mark.skipif(shutil.which("websockify") is None,
                    reason="websockify not installed (Makefile DEB_PACKAGES)")
def test_console_page_runs_websockify_to_the_display(vm_app, tokens, hypervisors):
    app, name, uri = vm_app
    admin, reader = _client(app, "alice", "alice-password"), _client(app, "rita", "rita-password")
    token = _csrf(admin, f"/console/vms/{name}")
    admin.post(f"/console/vms/{name}", data={"action": "install", "csrf_token": token})
    refused = admin.get(f"/console/vms/{name}/console")   # the test driver allocates no VNC port
    assert refused.status_code == 400 and "no VNC port" in refused.get_data(as_text=True)
    assert reader.get(f"/console/vms/{name}/console").status_code == 403
    display, serving = _vnc_standin()
    with display:
        conn = hypervisors(uri, "vm-container-0-0").conn   # give the running domain a fixed display
        domain = conn.lookupByName(name)
        domain.destroy()
        domain.undefine()
        conn.defineXML(VNC_XML.format(name=name, port=display.getsockname()[1], listen="127.0.0.1")).create()
        page = admin.get(f"/console/vms/{name}/console")
        html = page.get_data(as_text=True)
        assert page.status_code == 200, html
        port, ws_token = re.search(r'data-port="(\d+)" data-token="([^"]+)"', html).groups()
        csp = page.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and f"connect-src ws://localhost:{port}" in csp
        assert "'unsafe-inline'" not in csp and '<script type="module" src="/console/static/vnc.js">' in html
        consoles = app.extensions["ksserver"].consoles
        before = consoles.live()
        forged = admin.get(f"/console/vms/{name}/console", headers={"Host": "x; script-src *"})
        assert forged.status_code == 400 and consoles.live() == before  # refused before starting a proxy
        relayed = _websocket_first_frame(int(port), ws_token)     # what noVNC does with the page's data
        assert relayed.startswith(b"HTTP/1.1 101") and b"RFB 003.008" in relayed
        serving.join(10)
    with admin.get("/console/novnc/core/rfb.js") as rfb:
        assert rfb.status_code == 200 and "javascript" in rfb.mimetype


@pytest.mark.skipif(shutil.which("websockify") is None,
                    reason="websockify not installed (Makefile DEB_PACKAGES)")
def test_websockify_relays_only_with_the_token(tmp_path):
    display, serving = _vnc_standin()
    target = vmconsole.VncTarget("v", "c", "127.0.0.1", display.getsockname()[1])
    proxies = vmconsole.ConsoleProxies(tmp_path / "vnc", listen="127.0.0.1", max_proxies=1)
    try:
        lease = proxies.open(target)
        with pytest.raises(vmconsole.ConsoleBusy):
            proxies.open(target)                                         # bounded
        assert b"RFB" not in _websocket_first_frame(lease.port, "guessed-" + lease.token)
        proxies.close()
        assert proxies.live() == 0 and not list((tmp_path / "vnc").glob("*.token"))
        lease = proxies.open(target)
        assert b"RFB 003.008" in _websocket_first_frame(lease.port, lease.token)
        serving.join(10)
    finally:
        proxies.close()
        display.close()


def test_vm_actions_through_the_api(vm_app, tokens):
    from tests.web.apiclient import Api, OpenApiChecker

    app, name, _ = vm_app
    client = app.test_client()
    api = Api(client, OpenApiChecker(client.get("/api/v1/openapi.json").get_json()))
    act = f"/vms/{name}/actions"
    assert api("POST", act, token=tokens.reader, json={"action": "install"}).status_code == 403
    assert api("POST", act, token=tokens.admin, json={"action": "install"}).get_json()["state"] == "active"
    assert api("POST", act, token=tokens.admin, json={"action": "pause"}).get_json()["state"] == "paused"
    missing = api("POST", act, token=tokens.admin, json={"action": "move"})
    assert missing.status_code == 400 and missing.get_json()["field"] == "container"
    nowhere = api("POST", act, token=tokens.admin, json={"action": "move", "container": "compute-0-0"})
    assert nowhere.status_code == 400, nowhere.get_json()     # not a container: no data partition
    assert api("POST", act, token=tokens.admin, json={"action": "stop"}).get_json()["state"] == "shutoff"
