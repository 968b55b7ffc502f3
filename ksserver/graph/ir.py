"""The intermediate form of a node file, built once at load time (see nodes.py).

A node file becomes a list of top-level items (main directives, packages, scripts ...) for
the install phase, and a list of the scripts of the reconfigure phase (``phase=``).
Text is a tuple of parts: literal strings, attribute references (:class:`Ent`, from
``&name;``), ``<var>`` reads and writes, ``<eval>`` and ``<file>`` elements.  Conditions are
parsed here, so a malformed ``cond`` fails the load; they are evaluated per host later.

:class:`Bad` records an element that is unknown or unsupported.  It is an error only if the
element would contribute to a kickstart (its conditions hold): Rocks nodes carry Solaris-only
markup (``<service>`` inside ``<post os="sunos">``) that a Linux kickstart never looks at.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from .conditions import Condition
from .xmlload import Ent

Conds = tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class VarRef:
    """``<var name="X"/>``: X's value (assigned earlier, else the attribute), '' if undefined."""

    name: str
    line: int
    conds: Conds = ()


@dataclass(frozen=True, slots=True)
class VarSet:
    """``<var name="X" val="..."/>`` or ``<var name="X" ref="Y"/>``."""

    name: str
    line: int
    value: "Text | None" = None
    ref: str | None = None
    conds: Conds = ()


@dataclass(frozen=True, slots=True)
class EvalIR:
    shell: "Text"
    mode: str  # "quote" | "xml"
    body: "Text"
    env: tuple[tuple[str, "Text"], ...]
    line: int
    conds: Conds = ()


@dataclass(frozen=True, slots=True)
class FileIR:
    name: "Text"
    mode: str  # "create" | "append"
    owner: "Text | None"
    perms: "Text | None"
    expanded: bool
    expr: "Text | None"
    content: "Text"
    line: int
    conds: Conds = ()


@dataclass(frozen=True, slots=True)
class Bad:
    message: str
    line: int
    conds: Conds = ()


Part = Union[str, Ent, VarRef, VarSet, EvalIR, FileIR, Bad]
Text = tuple[Part, ...]


@dataclass(frozen=True, slots=True)
class MainIR:
    tag: str
    text: Text
    line: int
    conds: Conds = ()


@dataclass(frozen=True, slots=True)
class PackageIR:
    name: Text
    meta: bool
    disabled: bool
    line: int
    conds: Conds = ()


@dataclass(frozen=True, slots=True)
class ScriptIR:
    kind: str  # "pre" | "post"
    interpreter: Text | None
    arg: Text | None
    body: Text
    line: int
    conds: Conds = ()


@dataclass(frozen=True, slots=True)
class DebugIR:
    text: Text
    line: int
    conds: Conds = ()


Item = Union[MainIR, PackageIR, ScriptIR, DebugIR, VarSet, Bad]


@dataclass(slots=True)
class NodeIR:
    items: list[Item] = field(default_factory=list)  # what a kickstart (install phase) gets
    # Scripts whose phase= includes "reconfigure" (Rocks 6.2: run by `rocks run reconfigure`)
    reconfigure: list[Item] = field(default_factory=list)
    cond_names: set[str] = field(default_factory=set)
    has_eval: bool = False
