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

from collections.abc import Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass

from ..errors import GraphError
from .attrs import ALIASES, COMPUTED
from .compiler import KickstartCompiler
from .render import _WORD, DELIM_PREFIX, Slot, Template, slot_value


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


def _passes(fast: _FastPath, attrs: Mapping[str, str]) -> bool:
    for slot, word, start in fast.slots:
        try:
            value = slot_value(slot, attrs)
        except GraphError:
            return False
        if (word and not _WORD.match(value)) or (start and _unsafe_start(value)):
            return False
    return True


def check_hosts(compiler: KickstartCompiler, hosts: Iterable[tuple[str, str, Hashable, Mapping[str, str]]],
                varying: frozenset[str]) -> Iterator[tuple[str, Mapping[str, str], GraphError]]:
    """(name, attrs, error) for every host of ``hosts`` -- (name, root, group, attrs) -- whose kickstart
    does not render and validate.  Hosts of one ``group`` must have equal attributes outside ``varying``."""
    fast_paths: dict[tuple, _FastPath | None] = {}
    for name, root, group, attrs in hosts:
        key = (group, compiler.cache_key(root, attrs))
        fast = fast_paths.get(key)
        if fast is not None and _passes(fast, attrs):
            continue
        try:
            compiler.kickstart(root, attrs)
        except GraphError as exc:
            yield name, attrs, exc
            continue
        if key not in fast_paths or fast_paths[key] is None:
            template = compiler.cached_template(key[1])
            fast_paths[key] = _fast_path(template, attrs, varying) if template is not None else None
