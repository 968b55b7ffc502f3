"""Install tokens, stage reports and iPXE answers through the Flask app, with the attacks they must stop."""

from __future__ import annotations

import dataclasses
import re
import time

import pytest
from sqlalchemy import select

from ksserver.db.models import InstallToken
from ksserver.services import lifecycle
from ksserver.web import create_app

KS, STATUS, IPXE = "/install/sbin/kickstart.cgi", "/install/sbin/public/status", "/install/ipxe"
C00_IP, C01_IP = "10.1.255.254", "10.1.255.253"
C00_MAC, C01_MAC = "52:54:00:00:01:00", "52:54:00:00:01:01"


@pytest.fixture
def app(cluster, settings):
    settings = dataclasses.replace(settings, reload_interval=0.0)
    application = create_app(settings)
    yield application
    application.extensions["ksserver"].db.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


def _token_in(path) -> str:  # type: ignore[no-untyped-def]
    match = re.search(r"kickstart\.cgi\?token=([A-Za-z0-9_-]+)", path.read_text())
    assert match, path.read_text()
    return match[1]


def order_install(cluster, settings, host: str = "compute-0-0", ip_hex: str = "0A01FFFE") -> str:  # type: ignore[no-untyped-def]
    result = cluster("set", "host", "boot", host, "action=install")
    assert result.code == 0, result
    return _token_in(settings.tftp_dir / "pxelinux.cfg" / ip_hex)


def report(client, stage: str, token: str | None = None, remote: str = "127.0.0.1", json: bool = False,  # type: ignore[no-untyped-def]
           headers: dict | None = None, **fields: str):
    data = {"stage": stage, **fields}
    query = {"token": token} if token else {}
    kwargs = {"json": data} if json else {"data": data}
    return client.post(STATUS, query_string=query, headers=headers or {}, environ_base={"REMOTE_ADDR": remote},
                       **kwargs)


def status_of(cluster, host: str = "compute-0-0") -> list[str]:  # type: ignore[no-untyped-def]
    return cluster("list", "host", "status", host).out.splitlines()[1].split()


def test_token_is_on_every_answer_and_identifies_the_installer(cluster, settings, client):
    token = order_install(cluster, settings)
    assert len(token) >= 32
    ipxe = client.get(IPXE, query_string={"mac": C00_MAC}).get_data(as_text=True)
    grub = (settings.tftp_dir / "grub.cfg-01-52-54-00-00-01-00").read_text()
    for text in (ipxe, grub):
        assert f"kickstart.cgi?token={token}" in text and "inst.ks.sendmac" in text
    # QEMU user-net guests (and proxies) come from loopback: only the token says who they are.
    assert client.get(KS, environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 403
    response = client.get(KS, query_string={"token": token}, environ_base={"REMOTE_ADDR": "127.0.0.1"},
                          headers={"X-RHN-Provisioning-MAC-0": f"eth0 {C00_MAC}"})
    assert response.status_code == 200 and "compute-0-0" in response.get_data(as_text=True)
    assert status_of(cluster)[:2] == ["compute-0-0:", "issued"]


def test_stages_finish_and_the_host_boots_from_disk(cluster, settings, client):
    token = order_install(cluster, settings)
    for stage in ("kickstart", "pre", "partition", "packages", "post"):
        response = report(client, stage, token, json=stage == "pre")
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.get_json() == {"host": "compute-0-0", "stage": stage, "boot": "install"}
    assert status_of(cluster)[1] == "post"
    # A node that reboots before finishing stays in install: same answer, same token.
    assert f"token={token}" in client.get(IPXE, query_string={"mac": C00_MAC}).get_data(as_text=True)
    assert report(client, "finished", token).get_json()["boot"] == "os"
    row = status_of(cluster)
    assert row[1] == "finished" and "os" in row
    ipxe = client.get(IPXE, query_string={"mac": C00_MAC}).get_data(as_text=True)
    assert "token=" not in ipxe and "sanboot" in ipxe and "exit" in ipxe
    assert "localboot 0" in (settings.tftp_dir / "pxelinux.cfg" / "0A01FFFE").read_text()
    assert "exit" in (settings.tftp_dir / "grub.cfg-01-52-54-00-00-01-00").read_text()
    # Never loops back: the spent token is refused, for reports and kickstarts alike ...
    replay = report(client, "kickstart", token)
    assert replay.status_code == 403 and "revoked" in replay.get_data(as_text=True)
    assert client.get(KS, query_string={"token": token}).status_code == 403
    # ... and the host's own address on the provisioning network cannot restart it either.
    own = report(client, "kickstart", remote=C00_IP)
    assert own.status_code == 409 and "not being installed" in own.get_data(as_text=True)
    assert cluster("list", "host", "boot", "compute-0-0").out.split("\n")[1].split()[1] == "os"


def test_failed_keeps_the_host_in_install_with_its_log(cluster, settings, client, app):
    token = order_install(cluster, settings)
    response = report(client, "failed", token, log="Traceback: disk sda not found\n")
    assert response.status_code == 200 and response.get_json()["boot"] == "install"
    assert status_of(cluster)[1] == "failed"
    [row] = lifecycle.list_status(app.extensions["ksserver"].cluster, ["compute-0-0"])
    assert row.log == "Traceback: disk sda not found\n" and row.finished_at > 0 and not row.stalled
    assert report(client, "post", token).status_code == 200  # a retried install may report again


def test_refusals(cluster, settings, client):
    token = order_install(cluster, settings)
    cases = [
        (report(client, "pre"), 403),                                           # nobody, from loopback
        (report(client, "pre", "not-a-token"), 403),                            # guessed token
        (report(client, "pre", token, host="compute-0-1"), 400),                # names another host
        (report(client, "pre", token, headers={"X-RHN-Provisioning-MAC-0": f"eth0 {C01_MAC}"}), 403),
        (report(client, "pre", token, remote=C01_IP), 403),                     # c01 using c00's token
        (report(client, "dance", token), 400),                                  # unknown stage
        (report(client, "pre", token, log="x"), 400),                           # a log only with failed
        (report(client, "failed", token, log="x" * (64 * 1024 + 1)), 413),
        (report(client, "pre", remote=C01_IP), 409),                            # c01 is not installing
        (client.post(STATUS, query_string={"token": token}, data=b"{", content_type="application/json"), 400),
    ]
    for response, code in cases:
        assert response.status_code == code, (code, response.get_data(as_text=True))
    assert status_of(cluster)[1] == "issued"  # none of it was recorded
    assert client.post(STATUS, data={"stage": "pre", "token": token},
                       environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code == 200  # token as a form field


def test_a_new_order_revokes_the_old_token(cluster, settings, client):
    first = order_install(cluster, settings)
    second = order_install(cluster, settings)
    assert first != second
    assert report(client, "pre", first).status_code == 403
    assert report(client, "pre", second).status_code == 200


def test_expired_token_is_refused(cluster, settings, client, app):
    token = order_install(cluster, settings)
    with app.extensions["ksserver"].db.session(write=True) as session:
        for row in session.scalars(select(InstallToken)):  # ORM writes: the change log tells the server
            row.expires_at = time.time() - 1
    response = report(client, "pre", token)
    assert response.status_code == 403 and "expired" in response.get_data(as_text=True)


def test_ipxe_answers_for_every_mac(cluster, settings, client, caplog):
    # A known host with no boot state yet: an explicit boot from disk, never a 404.
    known = client.get(IPXE, query_string={"mac": C01_MAC})
    assert known.status_code == 200 and "compute-0-1 os" in known.get_data(as_text=True)
    with caplog.at_level("WARNING", logger="ksserver.install"):
        unknown = client.get(IPXE, query_string={"mac": "52:54:00:99:99:99"})
    text = unknown.get_data(as_text=True)
    assert unknown.status_code == 200 and text.startswith("#!ipxe") and "not a known host" in text
    assert "sanboot" in text and "unknown MAC 52:54:00:99:99:99" in caplog.text
    assert client.get(IPXE, query_string={"mac": "../../etc/passwd"}).status_code == 400
    assert client.get(IPXE).status_code == 400
    upper = client.get(IPXE, query_string={"mac": C01_MAC.upper().replace(":", "-")})
    assert "compute-0-1" in upper.get_data(as_text=True)


def test_boot_files_over_http_but_not_the_answers(cluster, settings, client):
    order_install(cluster, settings)
    images = settings.tftp_dir / "images" / "rocky9" / "x86_64"
    images.mkdir(parents=True)
    (images / "vmlinuz").write_bytes(b"kernel")
    with client.get("/boot/images/rocky9/x86_64/vmlinuz") as response:
        assert response.data == b"kernel"
    for path in ("/boot/pxelinux.cfg/0A01FFFE", "/boot/ipxe/52-54-00-00-01-00.ipxe",
                 "/boot/grub.cfg-01-52-54-00-00-01-00", "/boot/../cluster.db", "/boot/images/../ipxe/x"):
        assert client.get(path).status_code == 404, path
