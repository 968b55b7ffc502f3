"""Input checks: one rule per fact (host name, MAC, IP, OS, arch, ...), one clear message per bad value.

Every path that stores one of these facts (single add, bulk add, set, VM add, installer reports)
goes through the function here, so two commands can never disagree on what is valid.
"""

from __future__ import annotations

import ipaddress
import re

from ksserver.errors import InvalidArgument

_HOST_RE = re.compile(r"^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$")
_ATTR_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,127}$")
_MAC_RE = re.compile(r"^[0-9a-fA-F]{2}([:-]?)(?:[0-9a-fA-F]{2}\1){4}[0-9a-fA-F]{2}$")
_CANONICAL_MAC_RE = re.compile(r"[0-9a-f]{2}(?::[0-9a-f]{2}){5}\Z")
_DEVICE_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.:\-]{0,31}$")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def hostname(name: str) -> str:
    if not _HOST_RE.match(name or ""):
        raise InvalidArgument(f"invalid host name {name!r}: use letters, digits and '-' (at most 63)")
    return name.lower()


def mac(value: str) -> str:
    """A unicast MAC, normalised to lower-case colon form."""
    # Installers send the canonical form (every kickstart request carries one): checked without rebuilding it.
    if value and _CANONICAL_MAC_RE.match(value) and not int(value[:2], 16) & 1 and value != "00:00:00:00:00:00":
        return value
    value = (value or "").strip()
    if not _MAC_RE.match(value):
        raise InvalidArgument(f"invalid MAC address {value!r}: expected six hex octets like 52:54:00:12:34:56")
    digits = re.sub(r"[:-]", "", value).lower()
    # The group bit (lowest bit of the first octet) marks broadcast and multicast addresses: no NIC
    # has one, and DHCP, PXE files and libvirt would all refuse it later.
    if int(digits[:2], 16) & 1:
        kind = "broadcast" if digits == "f" * 12 else "multicast"
        raise InvalidArgument(f"invalid MAC address {value!r}: a {kind} address cannot belong to a NIC")
    if digits == "0" * 12:
        raise InvalidArgument(f"invalid MAC address {value!r}: all zeros")
    return ":".join(digits[i:i + 2] for i in range(0, 12, 2))


def ipv4(value: str) -> str:
    try:
        return str(ipaddress.IPv4Address((value or "").strip()))
    except ValueError:
        raise InvalidArgument(f"invalid IP address {value!r}") from None


def netmask(value: str) -> str:
    try:
        net = ipaddress.IPv4Network(f"0.0.0.0/{(value or '').strip()}")
    except ValueError:
        raise InvalidArgument(f"invalid netmask {value!r}") from None
    return str(net.netmask)


def integer(name: str, value: str | int, minimum: int = 0, maximum: int | None = None) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        raise InvalidArgument(f"{name} must be a whole number, not {value!r}") from None
    if number < minimum or (maximum is not None and number > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        raise InvalidArgument(f"{name} must be {bound}, not {number}")
    return number


def attr_name(name: str) -> str:
    if not _ATTR_RE.match(name or ""):
        raise InvalidArgument(f"invalid attribute name {name!r}: letters, digits, '_', '.', '-' only")
    return name


def attr_value(name: str, value: str) -> str:
    # Values are substituted into kickstarts and shell: a newline would let one attribute inject
    # directives into every generated kickstart, so control characters are refused here.
    if _CONTROL_RE.search(value):
        raise InvalidArgument(f"value of attribute {name} contains a control character (newline?)")
    return value


def device(name: str) -> str:
    if not _DEVICE_RE.match(name or ""):
        raise InvalidArgument(f"invalid interface name {name!r}")
    return name


def word(name: str, value: str, pattern: str = r"^[A-Za-z0-9 _\-]{1,64}$") -> str:
    if not re.match(pattern, value or ""):
        raise InvalidArgument(f"invalid {name} {value!r}")
    return value


def os_name(value: str) -> str:
    """An OS name as Rocks used them (linux, sunos): lower-case letters, digits, '_' and '-'."""
    return word("os", value, r"^[a-z0-9][a-z0-9_\-]{0,15}$")


def arch(value: str) -> str:
    """An architecture as installers report it (x86_64, aarch64, i386)."""
    return word("arch", value, r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,31}$")


def action_name(value: str) -> str:
    """A boot action name ('install', 'install headless', 'os')."""
    return word("boot action", value, r"^[A-Za-z0-9][A-Za-z0-9 _\-]{0,63}$")
