"""Plain-value parsing shared by every layer (settings, CLI parameters, graph conditions, attributes).

Standard library only, like ``errors``: the graph compiler may import it.  One word list decides
what counts as yes and no everywhere, so ``servedns=on`` and ``cond="kvm"`` with ``kvm=on`` agree.
"""

from __future__ import annotations

from ksserver.errors import InvalidArgument

TRUE_WORDS = frozenset({"1", "y", "yes", "true", "on"})
FALSE_WORDS = frozenset({"0", "n", "no", "false", "off"})


def parse_bool(value: str | bool | None) -> bool | None:
    """True or False for a yes/no word (any case), None for anything else."""
    if isinstance(value, bool):
        return value
    word = str(value if value is not None else "").strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None


def boolean(name: str, value: str | bool) -> bool:
    """A yes/no value or an InvalidArgument naming ``name``."""
    parsed = parse_bool(value)
    if parsed is None:
        raise InvalidArgument(f"{name} must be yes or no, not {value!r}")
    return parsed


def is_true(value: str | bool | None) -> bool:
    """Rocks' truthiness of an attribute value: only a yes-word is true (unset, '' and other text are not)."""
    return parse_bool(value) is True


_SECRET_WORDS = ("password", "passwd", "secret", "token", "privatekey", "private_key")
SECRET_ATTRS = frozenset({"kickstart_privaterootpassword"})


def is_secret_attr(name: str) -> bool:
    """True for attribute names that hold secrets (password, passwd, secret, token, private_key or
    privatekey anywhere in the name, any case; and Kickstart_PrivateRootPassword): such values never
    reach an ``<eval>`` script's environment."""
    lowered = name.lower()
    return lowered in SECRET_ATTRS or any(word in lowered for word in _SECRET_WORDS)
