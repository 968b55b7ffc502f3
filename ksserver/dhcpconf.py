"""DHCP server configuration for network installs, rendered from typed host entries: a dnsmasq file
(DHCP and TFTP in one daemon) or a Kea DHCPv4 JSON document.

Every host gets a fixed address only (no dynamic pool: unknown machines are not answered), and the boot
file follows the client: iPXE (user-class "iPXE", option 77) gets the HTTP URL of its per-host iPXE
script; otherwise the PXE client architecture (option 93) picks pxelinux.0 for BIOS or grubx64.efi for
x86-64 UEFI.  Values are validated, never escaped: a name, URL or path that could end a line, open a
comment or split a dnsmasq field is refused with an error naming the host and the field.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ksserver.errors import InvalidArgument

HOSTNAME_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}"
                         r"[A-Za-z0-9])?)*")
MAC_RE = re.compile(r"[0-9a-f]{2}(?::[0-9a-f]{2}){5}")
IFACE_RE = re.compile(r"[A-Za-z0-9_.-]{1,15}")
# Characters allowed in a boot file name, URL or path: no whitespace, quotes, commas (dnsmasq's field
# separator), '#' (comments), backslashes or control characters.
SAFE_VALUE_RE = re.compile(r"[A-Za-z0-9._~:/?&=%+@!*(){}$\[\]-]+")

# RFC 4578 client system architecture types (DHCP option 93).
ARCH_BIOS = 0
ARCH_EFI_X86_64 = (7, 9)    # 9 is what some EFI firmware sends for x86-64 (EFI BC)
ARCH_EFI_ARM64 = 11


@dataclass(frozen=True)
class DhcpHost:
    name: str
    mac: str
    ip: str
    network: str                  # e.g. 10.1.0.0
    netmask: str                  # e.g. 255.255.0.0
    router: str = ""
    next_server: str = ""         # TFTP server; empty: DhcpSettings.server_ip
    dns: tuple[str, ...] = ()


@dataclass(frozen=True)
class DhcpSettings:
    server_ip: str
    http_base: str                                   # e.g. http://10.1.1.1 (installers' kickstart server)
    tftp_root: str = "/var/lib/tftpboot"
    interface: str = ""                              # listen only here; empty: every interface
    bios_boot_file: str = "pxelinux.0"
    efi64_boot_file: str = "grubx64.efi"
    efi_arm64_boot_file: str = "grubaa64.efi"
    ipxe_script_path: str = "/install/ipxe?mac=${net0/mac}"   # iPXE expands ${...} in the file name
    lease_seconds: int = 43200
    domain: str = ""
    extra_dns: tuple[str, ...] = field(default=())

    @property
    def ipxe_url(self) -> str:
        return self.http_base.rstrip("/") + self.ipxe_script_path


class DhcpConfigError(InvalidArgument):
    pass


def _ip(value: str, what: str) -> str:
    try:
        return str(ipaddress.IPv4Address(value))
    except ValueError:
        raise DhcpConfigError(f"{what}: {value!r} is not an IPv4 address") from None


def _safe(value: str, what: str) -> str:
    if not SAFE_VALUE_RE.fullmatch(value):
        raise DhcpConfigError(f"{what}: {value!r} holds a character a DHCP config cannot carry safely "
                              f"(whitespace, quote, comma, '#', backslash or control character)")
    return value


def validate_settings(settings: DhcpSettings) -> None:
    _ip(settings.server_ip, "server_ip")
    url = urlsplit(settings.http_base)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise DhcpConfigError(f"http_base: {settings.http_base!r} is not an http(s) URL")
    _safe(settings.ipxe_url, "iPXE script URL")
    for name in ("tftp_root", "bios_boot_file", "efi64_boot_file", "efi_arm64_boot_file"):
        _safe(getattr(settings, name), name)
    if settings.interface and not IFACE_RE.fullmatch(settings.interface):
        raise DhcpConfigError(f"interface: {settings.interface!r} is not an interface name")
    if settings.domain and not HOSTNAME_RE.fullmatch(settings.domain):
        raise DhcpConfigError(f"domain: {settings.domain!r} is not a DNS domain")
    for dns in settings.extra_dns:
        _ip(dns, "extra_dns")
    if settings.lease_seconds < 60:
        raise DhcpConfigError("lease_seconds: at least 60")


def validate_host(host: DhcpHost) -> ipaddress.IPv4Network:
    """Check every field of one host; returns its network."""
    where = f"host {host.name!r}"
    if not HOSTNAME_RE.fullmatch(host.name) or len(host.name) > 253:
        raise DhcpConfigError(f"{where}: not a valid host name (letters, digits, '-' and '.')")
    if not MAC_RE.fullmatch(host.mac):
        raise DhcpConfigError(f"{where}: MAC {host.mac!r} is not of the form 52:54:00:aa:bb:cc (lower case)")
    ip = ipaddress.IPv4Address(_ip(host.ip, f"{where}: ip"))
    try:
        network = ipaddress.IPv4Network(f"{_ip(host.network, where + ': network')}/"
                                        f"{_ip(host.netmask, where + ': netmask')}")
    except ValueError as exc:
        raise DhcpConfigError(f"{where}: network {host.network}/{host.netmask}: {exc}") from None
    if ip not in network:
        raise DhcpConfigError(f"{where}: {host.ip} is not in {network}")
    if host.router:
        _ip(host.router, f"{where}: router")
    if host.next_server:
        _ip(host.next_server, f"{where}: next_server")
    for dns in host.dns:
        _ip(dns, f"{where}: dns")
    return network


def _check_all(hosts: list[DhcpHost], settings: DhcpSettings) -> dict[ipaddress.IPv4Network, list[DhcpHost]]:
    validate_settings(settings)
    by_net: dict[ipaddress.IPv4Network, list[DhcpHost]] = {}
    seen: dict[str, str] = {}
    for host in hosts:
        network = validate_host(host)
        for key in (host.mac, host.ip, host.name.lower()):
            if key in seen:
                raise DhcpConfigError(f"host {host.name!r}: {key} is also used by host {seen[key]!r}")
            seen[key] = host.name
        by_net.setdefault(network, []).append(host)
    return by_net


def _net_options(hosts: list[DhcpHost], settings: DhcpSettings) -> tuple[str, tuple[str, ...]]:
    """The router and DNS servers of a network: those of its first host that names them."""
    router = next((h.router for h in hosts if h.router), "")
    dns = next((h.dns for h in hosts if h.dns), ()) + settings.extra_dns
    return router, tuple(dict.fromkeys(dns))


# --- dnsmasq -------------------------------------------------------------------------------------

def render_dnsmasq(hosts: list[DhcpHost], settings: DhcpSettings) -> str:
    """A dnsmasq configuration (DHCP + TFTP, no DNS) for ``hosts``; passes ``dnsmasq --test``."""
    by_net = _check_all(hosts, settings)
    lines = ["# Generated by ksserver: DHCP with fixed addresses only, TFTP for boot loaders.",
             "port=0", "log-dhcp", "dhcp-authoritative"]
    if settings.interface:
        lines += [f"interface={settings.interface}", "bind-interfaces"]
    lines += ["enable-tftp", f"tftp-root={settings.tftp_root}",
              "", "# Who is asking: iPXE (user class), else the PXE client architecture (option 93).",
              "dhcp-userclass=set:ipxe,iPXE", "dhcp-match=set:ipxe,175"]
    lines += [f"dhcp-match=set:efi64,option:client-arch,{arch}" for arch in ARCH_EFI_X86_64]
    lines += [f"dhcp-match=set:efiarm64,option:client-arch,{ARCH_EFI_ARM64}"]
    next_servers: dict[str, str] = {}
    for index, (network, members) in enumerate(by_net.items()):
        tag = f"net{index}"
        router, dns = _net_options(members, settings)
        lines += ["", f"# {network}",
                  (f"dhcp-range=set:{tag},{network.network_address},static,{network.netmask},"
                   f"{settings.lease_seconds}")]
        if router:
            lines.append(f"dhcp-option=tag:{tag},option:router,{router}")
        if dns:
            lines.append(f"dhcp-option=tag:{tag},option:dns-server,{','.join(dns)}")
        if settings.domain:
            lines.append(f"dhcp-option=tag:{tag},option:domain-name,{settings.domain}")
        for host in members:
            server = host.next_server or settings.server_ip
            ns_tag = next_servers.setdefault(server, f"ns{len(next_servers)}")
            lines.append(f"dhcp-host={host.mac},set:{ns_tag},{host.ip},{host.name},infinite")
    lines += ["", "# Boot files.  The first matching line wins, so iPXE comes first."]
    lines.append(f"dhcp-boot=tag:ipxe,{settings.ipxe_url}")
    for server, ns_tag in next_servers.items():
        lines += [f"dhcp-boot=tag:{ns_tag},tag:!ipxe,tag:efi64,{settings.efi64_boot_file},,{server}",
                  f"dhcp-boot=tag:{ns_tag},tag:!ipxe,tag:efiarm64,{settings.efi_arm64_boot_file},,{server}",
                  (f"dhcp-boot=tag:{ns_tag},tag:!ipxe,tag:!efi64,tag:!efiarm64,{settings.bios_boot_file},,"
                   f"{server}")]
    return "\n".join(lines) + "\n"


# --- Kea DHCPv4 ----------------------------------------------------------------------------------

def kea_config(hosts: list[DhcpHost], settings: DhcpSettings) -> dict:
    """A Kea DHCPv4 configuration (as a dict) for ``hosts``; ``json.dumps`` it for ``kea-dhcp4 -t``."""
    by_net = _check_all(hosts, settings)
    not_ipxe = "not (substring(option[77].hex,0,4) == 'iPXE')"
    classes = [
        {"name": "ipxe", "test": "substring(option[77].hex,0,4) == 'iPXE'",
         "boot-file-name": settings.ipxe_url},
        {"name": "efi64", "test": f"(option[93].hex == 0x0007 or option[93].hex == 0x0009) and {not_ipxe}",
         "boot-file-name": settings.efi64_boot_file},
        {"name": "efiarm64", "test": f"option[93].hex == 0x000b and {not_ipxe}",
         "boot-file-name": settings.efi_arm64_boot_file},
        {"name": "bios", "test": f"option[93].hex == 0x0000 and {not_ipxe}",
         "boot-file-name": settings.bios_boot_file},
    ]
    subnets = []
    for index, (network, members) in enumerate(by_net.items(), start=1):
        router, dns = _net_options(members, settings)
        options = []
        if router:
            options.append({"name": "routers", "data": router})
        if dns:
            options.append({"name": "domain-name-servers", "data": ", ".join(dns)})
        if settings.domain:
            options.append({"name": "domain-name", "data": settings.domain})
        servers = {h.next_server or settings.server_ip for h in members}
        subnet: dict = {"id": index, "subnet": str(network), "option-data": options, "reservations": [
            {"hw-address": h.mac, "ip-address": h.ip, "hostname": h.name,
             **({"next-server": h.next_server} if h.next_server else {})} for h in members]}
        subnet["next-server"] = settings.server_ip if len(servers) > 1 else servers.pop()
        subnets.append(subnet)
    interfaces = [settings.interface] if settings.interface else ["*"]
    return {"Dhcp4": {
        "interfaces-config": {"interfaces": interfaces},
        "lease-database": {"type": "memfile", "persist": False},
        "valid-lifetime": settings.lease_seconds,
        "authoritative": True,
        "client-classes": classes,
        "subnet4": subnets,
    }}


def render_kea(hosts: list[DhcpHost], settings: DhcpSettings) -> str:
    return json.dumps(kea_config(hosts, settings), indent=2) + "\n"
