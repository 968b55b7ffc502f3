"""``rocks report dhcpd``: the DHCP server configuration (dnsmasq or Kea) from the database.

Every interface with an address and a MAC on a provisioning network gets a fixed address; the server
(TFTP next-server, iPXE script URL) comes from the global attributes, a host's ``dhcp_nextserver``
overrides its next-server.  Rendering and the refusal of unsafe values are ``ksserver.dhcpconf``'s.
"""

from __future__ import annotations

import ipaddress

from sqlalchemy import select

from ksserver.db.models import GlobalAttribute
from ksserver.dhcpconf import DhcpHost, DhcpSettings, render_dnsmasq, render_kea
from ksserver.errors import InvalidArgument
from ksserver.inventory import hosts
from ksserver.inventory.context import host_attrs
from ksserver.services import Cluster

FORMATS = ("dnsmasq", "kea")


def _words(value: str) -> tuple[str, ...]:
    return tuple(w for w in value.replace(",", " ").split() if w)


def dhcp_inputs(cluster: Cluster) -> tuple[list[DhcpHost], DhcpSettings]:
    with cluster.db.session() as session:
        glob = {attr: value for attr, value in session.execute(select(GlobalAttribute.attr, GlobalAttribute.value))}
        server_ip = glob.get("Kickstart_PrivateKickstartHost", "10.1.1.1")
        http_base = cluster.settings.install_server_url or f"http://{server_ip}"
        settings = DhcpSettings(server_ip=server_ip, http_base=http_base,
                                tftp_root=str(cluster.settings.tftp_dir.resolve()),
                                interface=glob.get("dhcp_interface", ""),
                                domain=glob.get("Kickstart_PrivateDNSDomain", ""))
        found: list[DhcpHost] = []
        for host in hosts.list_hosts(session):
            attrs = None
            for iface in sorted(host.interfaces, key=lambda i: i.device):
                subnet = iface.subnet
                if not (iface.ip and iface.mac and subnet is not None and subnet.provisioning):
                    continue
                if iface.ip == server_ip:
                    continue  # the server does not lease itself an address
                attrs = attrs if attrs is not None else host_attrs(session, host)
                network = ipaddress.IPv4Network(f"{subnet.address}/{subnet.netmask}", strict=False)
                gateway = attrs.get("Kickstart_PrivateGateway", "")
                router = gateway if gateway and ipaddress.ip_address(gateway) in network else ""
                next_server = attrs.get("dhcp_nextserver", "")
                found.append(DhcpHost(host.name, iface.mac, iface.ip, subnet.address, subnet.netmask, router,
                                      "" if next_server == server_ip else next_server,
                                      _words(attrs.get("Kickstart_PrivateDNSServers", ""))))
    return found, settings


def report_dhcpd(cluster: Cluster, fmt: str = "dnsmasq") -> str:
    if fmt not in FORMATS:
        raise InvalidArgument(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    found, settings = dhcp_inputs(cluster)
    return render_dnsmasq(found, settings) if fmt == "dnsmasq" else render_kea(found, settings)
