"""Attribute lookup with the Rocks 5.0 / 5.2+ name aliases.

Rocks 5.0 node files say ``<var name="Node_Hostname"/>``; 5.2+ files say ``&hostname;``.
Both must work against one flat attribute dict, so every read goes through
:func:`lookup`, which tries the name itself and then its alias.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

Getter = Callable[[Mapping[str, str]], "str | None"]

# Rocks 5.0 name -> 5.2+ attribute (and back).  Plain one-to-one renames.
_PAIRS: tuple[tuple[str, str], ...] = (
    ("Node_Hostname", "hostname"),
    ("Node_Membership", "membership"),
    ("Node_Address", "hostaddr"),
    ("Node_Architecture", "arch"),
    ("Node_OS", "os"),
    ("Node_Root", "root"),
    ("Node_DistName", "distribution"),
    ("Info_RocksVersion", "version"),
    ("Info_RocksRelease", "release"),
    ("ROCKS_VARS_HOSTNAME", "hostname"),
    ("Node_Appliance", "appliance"),
)

ALIASES: dict[str, str] = {}
for _old, _new in _PAIRS:
    ALIASES.setdefault(_old, _new)
    ALIASES.setdefault(_new, _old)


def _node_distribution(attrs: Mapping[str, str]) -> str | None:
    # 5.1+ layout: <dist>/<arch> (5.0 had a "lan/" level we do not reproduce).
    dist = lookup(attrs, "distribution")
    arch = lookup(attrs, "arch")
    if dist is None or arch is None:
        return None
    return f"{dist}/{arch}"


# Names whose value is computed from other attributes.
COMPUTED: dict[str, Getter] = {"Node_Distribution": _node_distribution}


def lookup(attrs: Mapping[str, str], name: str) -> str | None:
    """Value of ``name`` in ``attrs``, trying its Rocks alias; None if undefined."""
    value = attrs.get(name)
    if value is not None:
        return value
    alias = ALIASES.get(name)
    if alias is not None:
        value = attrs.get(alias)
        if value is not None:
            return value
    computed = COMPUTED.get(name)
    if computed is not None:
        return computed(attrs)
    return None
