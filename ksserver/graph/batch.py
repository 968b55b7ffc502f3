"""Checking many hosts' kickstarts without rendering each one (``rocks-dist dist`` at 100,000 hosts).

The guarantee is the one of calling ``KickstartCompiler.kickstart`` for every host: the template
is compiled and pykickstart-validated, every slot value passes ``slot_value`` (no undefined
``&name;``, no control character) and a value that could change how a line splits is validated
on its own.  Hosts share a fast path when they share a template (same cache key) and a *group*
(the caller's word that their attributes agree on every key outside ``varying``, e.g. same root,
appliance, membership, os and arch): then the slots that read only constant keys have the values
of the group's first host, which rendered fully, and only the other slots are checked per host.
Whatever fails the cheap check, or a template with ``<eval>`` output, is rendered fully, so the
error is word for word the one a render gives.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass

from ..errors import GraphError
from .attrs import ALIASES, COMPUTED, lookup
from .compiler import KickstartCompiler
from .render import _CONTROL, _WORD, DELIM_PREFIX, Slot, Template, slot_value


@dataclass(frozen=True)
class _FastPath:
    template: Template
    slots: tuple[tuple[Slot, bool, bool], ...]  # (varying slot, a command-line word, a line start)


def _reads_varying(name: str, varying: frozenset[str]) -> bool:
    # lookup() reads the name, then its Rocks alias, then a computed value (treated as varying).
    return name in varying or ALIASES.get(name) in varying or name in COMPUTED


def _fast_path(template: Template, attrs: Mapping[str, str], varying: frozenset[str]) -> _FastPath | None:
    """How the other hosts of a group skip the render, or None when they cannot."""
    if template.dynamic or not template.validated_safe:
        return None
    words, starts = set(template.token_slots), set(template.linestart_slots)
    checked = []
    for i, slot in enumerate(template.slots):
        if _reads_varying(slot.name, varying):
            checked.append((slot, i in words, i in starts))
            continue
        value = slot_value(slot, attrs)  # constant in the group: as the host that rendered
        if (i in words and not _WORD.match(value)) or (i in starts and _unsafe_start(value)):
            return None  # every host of the group needs its own validation
    return _FastPath(template, tuple(checked))


def _unsafe_start(value: str) -> bool:
    v = value.lstrip()
    return v.startswith(("%", DELIM_PREFIX))


# A value is a safe command-line word (render._WORD) without control characters (render._CONTROL) iff
# it is non-empty and has none of these: one search over a host's joined word values checks them all.
_NOT_WORD = re.compile(r"""[\s"'\\#]|""" + _CONTROL.pattern)


def _passes(fast: _FastPath, attrs: Mapping[str, str]) -> bool:
    """What ``Template.render`` checks of the varying slots (``slot_value``, then ``needs_check``) with
    one regex search per host instead of one per slot: False sends the host to a full render."""
    get = attrs.get
    words: list[str] = []
    others: list[str] = []
    for slot, word, start in fast.slots:
        value = get(slot.name)
        if value is None:
            value = lookup(attrs, slot.name)
            if value is None:
                if slot.required:
                    return False
                value = ""
        (words if word else others).append(value)
        if start and _unsafe_start(value):
            return False
    if words and (not all(words) or _NOT_WORD.search("".join(words))):
        return False
    return not (others and _CONTROL.search("".join(others)))


class Overlay(Mapping[str, str]):
    """A host's attributes as its own few values over its group's shared dict, without copying the
    shared one per host (``get`` is what rendering and ``lookup`` call)."""

    __slots__ = ("own", "shared")

    def __init__(self, own: dict[str, str], shared: dict[str, str]):
        self.own, self.shared = own, shared

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        value = self.own.get(key)
        return value if value is not None else self.shared.get(key, default)

    def __getitem__(self, key: str) -> str:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __iter__(self) -> Iterator[str]:
        return iter({**self.shared, **self.own})

    def __len__(self) -> int:
        return len({**self.shared, **self.own})


def check_hosts(compiler: KickstartCompiler, hosts: Iterable[tuple[str, str, Hashable, Mapping[str, str]]],
                varying: frozenset[str]) -> Iterator[tuple[str, Mapping[str, str], GraphError]]:
    """(name, attrs, error) for every host of ``hosts`` -- (name, root, group, attrs) -- whose kickstart
    does not render and validate.  Hosts of one ``group`` must have equal attributes outside ``varying``."""
    fast_paths: dict[tuple, _FastPath | None] = {}
    # The template's cache key reads the condition attributes, graph and ks_version: when none of them
    # varies, it is the group's.
    keyed = {"graph", "ks_version", *compiler.library.cond_names}
    key_varies = any(_reads_varying(name, varying) for name in keyed)
    group_keys: dict[Hashable, tuple] = {}
    for name, root, group, attrs in hosts:
        if key_varies:
            key = (group, compiler.cache_key(root, attrs))
        else:
            key = group_keys.get(group)  # type: ignore[assignment]
            if key is None:
                key = group_keys[group] = (group, compiler.cache_key(root, attrs))
        fast = fast_paths.get(key)
        if fast is not None and _passes(fast, attrs):
            continue
        try:
            compiler.kickstart(root, attrs if isinstance(attrs, dict) else dict(attrs))
        except GraphError as exc:
            yield name, attrs, exc
            continue
        if key not in fast_paths or fast_paths[key] is None:
            template = compiler.cached_template(key[1])
            fast_paths[key] = _fast_path(template, attrs, varying) if template is not None else None
