"""Stock data that ``rocks init`` puts in a new database (idempotent: existing rows are kept)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ksserver import __version__
from ksserver.db.models import (Appliance, ApplianceAttribute, BootAction, Distribution, GlobalAttribute,
                                Membership, Subnet)
from ksserver.passwords import random_password, sha512_crypt

# (appliance, membership, root node, public, appliance attributes) in `rocks list membership` order.
STOCK_APPLIANCES: list[tuple[str, str, str, bool, dict[str, str]]] = [
    ("frontend", "Frontend", "server", False, {}),
    ("network", "Ethernet Switches", "", False, {}),
    ("power", "Power Units", "", False, {}),
    ("manager", "Remote Management", "", False, {}),
    ("nas", "NAS Appliance", "nas", True, {}),
    ("compute", "Compute", "compute", True, {}),
    ("vm-container", "VM Container", "vm-container", True, {"kvm": "true", "xen": "false"}),
]

STOCK_SUBNETS = [
    # name, address, netmask, dnszone, servedns, provisioning (installers are believed by address there)
    ("private", "10.1.0.0", "255.255.0.0", "local", True, True),
    ("public", "192.168.1.0", "255.255.255.0", "example.org", False, False),
]

PRIVATE = {"Address": "10.1.1.1", "Hostname": "frontend", "Network": "10.1.0.0", "Netmask": "255.255.0.0",
           "NetmaskCIDR": "16", "Broadcast": "10.1.255.255", "Gateway": "10.1.1.1", "DNSDomain": "local",
           "DNSServers": "10.1.1.1", "NTPHost": "10.1.1.1", "SyslogHost": "10.1.1.1",
           "KickstartHost": "10.1.1.1", "Interface": "eth0"}
PUBLIC = {"Address": "192.168.1.10", "Hostname": "frontend.example.org", "Network": "192.168.1.0",
          "Netmask": "255.255.255.0", "NetmaskCIDR": "24", "Broadcast": "192.168.1.255",
          "Gateway": "192.168.1.1", "DNSDomain": "example.org", "DNSServers": "192.168.1.1",
          "NTPHost": "pool.ntp.org", "KickstartHost": "192.168.1.10", "Interface": "eth1"}

STOCK_GLOBALS: dict[str, str] = {
    "Info_ClusterName": "Cluster",
    "Info_ClusterContact": "root@localhost",
    "Info_ClusterURL": "http://localhost/",
    "Kickstart_DistroDir": "/export/rocks",
    "Kickstart_PrivateKickstartBasedir": "install",
    "Kickstart_PrivateKickstartCGI": "sbin/kickstart.cgi",
    # The install tree's listener (ksserver serve's files_bind: the kickstart port + 1 by default).
    "Kickstart_PrivateInstallHost": f"{PRIVATE['KickstartHost']}:81",
    "Kickstart_Lang": "en_US.UTF-8",
    "Kickstart_Langsupport": "en_US.UTF-8",
    "Kickstart_Keyboard": "us",
    "Kickstart_Timezone": "Etc/UTC",
    **{f"Kickstart_Private{k}": v for k, v in PRIVATE.items()},
    **{f"Kickstart_Public{k}": v for k, v in PUBLIC.items()},
    "ks_version": "RHEL9",
    "ssh_use_dns": "true",
    "x11": "false",
    "rocks_version": __version__,
    "rocks_version_major": __version__.split(".")[0],
    "vm_mac_base_addr": "00:16:3e:00:00:00",
    "vm_mac_base_addr_mask": "ff:ff:ff:00:00:00",
    "dhcp_filename": "pxelinux.0",
    "dhcp_nextserver": PRIVATE["KickstartHost"],
}

_KS = "http://10.1.1.1/install/sbin/kickstart.cgi"
STOCK_BOOTACTIONS = [
    # action, kernel, ramdisk, args
    ("install", "vmlinuz", "initrd.img", f"inst.ks={_KS} inst.ks.sendmac ip=dhcp"),
    ("install headless", "vmlinuz", "initrd.img", f"inst.ks={_KS} inst.ks.sendmac ip=dhcp inst.text inst.vnc"),
    ("rescue", "vmlinuz", "initrd.img", "inst.rescue ip=dhcp"),
    ("os", "localboot 0", "", ""),
    ("memtest", "memtest", "", ""),
]


def install_host_beside(kickstart_host: str) -> str:
    """``Kickstart_PrivateInstallHost`` for a kickstart server at ``kickstart_host`` (host[:port]): the
    install-tree listener's default address, the same host and the next port (``files_bind``)."""
    host, sep, port = kickstart_host.rpartition(":")
    if sep and port.isdigit():
        return f"{host}:{int(port) + 1}"
    return f"{kickstart_host}:81"


def initialize(session: Session) -> dict[str, str]:
    """Create missing stock rows.  Returns {"root_password": ...} when it generated one."""
    created: dict[str, str] = {}
    dist = session.scalar(select(Distribution).where(Distribution.name == "rocks-dist"))
    if dist is None:
        dist = Distribution(name="rocks-dist", os_release="9", lang="en_US")
        session.add(dist)
        session.flush()
    for position, (app_name, memb_name, node, public, attrs) in enumerate(STOCK_APPLIANCES):
        app = session.scalar(select(Appliance).where(Appliance.name == app_name))
        if app is None:
            app = Appliance(name=app_name, node=node, public=public, graph="default", os="linux")
            session.add(app)
            session.flush()
            base = {"kickstartable": "true" if node else "false", "managed": "true" if node else "false"}
            for key, value in {**base, **attrs}.items():
                session.add(ApplianceAttribute(appliance_id=app.id, attr=key, value=value))
        if session.scalar(select(Membership).where(Membership.name == memb_name)) is None:
            session.add(Membership(name=memb_name, appliance_id=app.id, distribution_id=dist.id,
                                   public=public, position=position))
    for name, address, mask, zone, servedns, provisioning in STOCK_SUBNETS:
        if session.scalar(select(Subnet).where(Subnet.name == name)) is None:
            session.add(Subnet(name=name, address=address, netmask=mask, dnszone=zone, servedns=servedns,
                               provisioning=provisioning))
    existing: dict[str, str] = {attr: value for attr, value in
                                session.execute(select(GlobalAttribute.attr, GlobalAttribute.value))}
    for key, value in STOCK_GLOBALS.items():
        if key not in existing:
            if key == "Kickstart_PrivateInstallHost" and "Kickstart_PrivateKickstartHost" in existing:
                # An upgraded site keeps its own kickstart host: the listener sits beside it, not at 10.1.1.1.
                value = install_host_beside(existing["Kickstart_PrivateKickstartHost"])
            session.add(GlobalAttribute(attr=key, value=value))
    if "Kickstart_PrivateRootPassword" not in existing:
        password = random_password()
        session.add(GlobalAttribute(attr="Kickstart_PrivateRootPassword", value=sha512_crypt(password)))
        created["root_password"] = password
    actions = set(session.scalars(select(BootAction.action)))
    for action, kernel, ramdisk, args in STOCK_BOOTACTIONS:
        if action not in actions:
            session.add(BootAction(action=action, kernel=kernel, ramdisk=ramdisk, args=args))
    session.flush()
    return created
