"""GET /install/sbin/kickstart.cgi: the requesting host's kickstart, as text/plain."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from ksserver.inventory import hosts, requester

bp = Blueprint("kickstart", __name__)


def _describe_request(trusted: tuple[str, ...]) -> requester.Request:
    remote = request.remote_addr or ""
    client_ip = requester.client_address(remote, request.headers.get("X-Forwarded-For"), trusted)
    macs, env = requester.parse_mac_headers(list(request.headers.items()))
    return requester.Request(client_ip=client_ip, macs=macs, token=request.args.get("token"),
                             preview=request.args.get("client"),
                             from_loopback=requester.is_loopback(remote) and client_ip == remote,
                             headers_env=env)


@bp.get("/install/sbin/kickstart.cgi")
@bp.get("/install/sbin/public/kickstart.cgi")
def kickstart() -> Response:
    services = current_app.extensions["ksserver"]
    req = _describe_request(services.settings.trusted_proxies)
    arch, cpus = requester.validate_install_report(request.args.get("arch"), request.args.get("np"))
    snap = services.snapshot
    snap.sync()
    host = requester.identify(snap, req)
    if req.preview is None and ((arch is not None and arch != host.arch) or (cpus is not None and cpus != host.cpus)):
        # Record what the installer told us before generating, so arch-conditional nodes see it (as Rocks did).
        with services.db.session(write=True) as session:
            hosts.record_install_report(session, hosts.get_host(session, host.name), arch, cpus)
        snap.sync()
        host = snap.hosts[host.id]
    text = services.kickstarts.render(host.appliance, host.root, snap.attrs(host), host.name, env=req.headers_env)
    return Response(text, mimetype="text/plain")
