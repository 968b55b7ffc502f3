"""Rocks §3.3 "next MAC" rule, pure: the inventory allocates, tests check it.

Among the existing MACs that equal ``base`` under ``mask``, take the largest as a 48-bit
integer and add one; with none, use ``base``. The result must stay inside the masked range
and unicast, otherwise the range is exhausted.
"""

from __future__ import annotations

from collections.abc import Iterable

from .errors import InvalidSpec, MacRangeExhausted
from .spec import normalize_mac

XEN_OUI_BASE = "00:16:3e:00:00:00"
XEN_OUI_MASK = "ff:ff:ff:00:00:00"
_ALL = (1 << 48) - 1


def mac_to_int(mac: str) -> int:
    return int(normalize_mac(mac).replace(":", ""), 16)


def int_to_mac(value: int) -> str:
    if not 0 <= value <= _ALL:
        raise InvalidSpec(f"MAC value {value:#x} is out of range")
    raw = f"{value:012x}"
    return ":".join(raw[i : i + 2] for i in range(0, 12, 2))


def _mask_to_int(mask: str) -> int:
    # The mask may legitimately be "multicast-looking" (ff:...), so parse it without unicast checks.
    parts = mask.strip().lower().split(":")
    if len(parts) != 6 or not all(len(p) == 2 for p in parts):
        raise InvalidSpec(f"bad MAC mask {mask!r}")
    try:
        return int("".join(parts), 16)
    except ValueError:
        raise InvalidSpec(f"bad MAC mask {mask!r}") from None


def next_mac(existing: Iterable[str], base: str = XEN_OUI_BASE, mask: str = XEN_OUI_MASK) -> str:
    """Return the next free MAC under ``base``/``mask`` (Rocks ``rocks report vm nextmac``).

    Unparseable entries in ``existing`` are ignored: the DB may hold MACs of odd hardware.
    """
    base_i, mask_i = mac_to_int(base), _mask_to_int(mask)
    net = base_i & mask_i
    matching = []
    for mac in existing:
        try:
            value = mac_to_int(mac)
        except InvalidSpec:
            continue
        if value & mask_i == net:
            matching.append(value)
    candidate = max(matching) + 1 if matching else base_i
    if candidate > _ALL or candidate & mask_i != net or (candidate >> 40) & 0x01:
        raise MacRangeExhausted(f"no free MAC address left under base {base} mask {mask}")
    return int_to_mac(candidate)
