"""Kickstart templates: literal chunks and attribute slots, rendered per host.

A :class:`Template` is what compiling a (library, graph, root, condition values, evals,
ks_version) combination produces.  Rendering a host joins the chunks with that host's values,
so a warm render is a few dictionary lookups and one ``str.join``.

Safety of substitution.  pykickstart validated the template once (rendered with the first
host's values).  Another host's values cannot change the kickstart's structure because:

* a value with a control character or a line break (``\\n``, ``\\r``, ``\\v``, ``\\f``,
  ``\\x1c-\\x1e``, ``\\x85``, U+2028/U+2029 -- everything ``str.splitlines`` splits on) is
  refused with a GraphError naming the attribute and where it is used;
* a value used in a kickstart command line (a ``<main>`` directive, a ``%pre``/``%post``
  header, a package name) that is empty or has white space, quotes, a backslash or ``#``
  could change how the line splits into words: that render is validated on its own;
* a value at the start of a script line that begins with ``%`` (``%end``) or with a
  here-document delimiter: that render is validated (and its here-documents checked) too.

Templates with ``<eval>`` output are validated on every render.
"""

from __future__ import annotations

import re
from operator import itemgetter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..errors import GraphError, KickstartInvalid
from .attrs import lookup
from .validate import KickstartProblem, check

_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f\x85\u2028\u2029]")
_WORD = re.compile(r"""[^\s"'\\#]+\Z""")
_NOT_WORD = re.compile(r"""[\s"'\\#]""")  # what a value of _WORD lacks: one search over many joined values
DELIM_PREFIX = "KSEOF_"
_LINESTART = re.compile(r"^\s*(?:%|" + DELIM_PREFIX + ")", re.MULTILINE)  # what may not start a script line


@dataclass(frozen=True, slots=True)
class Slot:
    name: str
    required: bool  # &name; must be defined; <var name=/> falls back to ""
    path: str
    line: int


class RenderContext:
    """What a dynamic chunk needs at render time."""

    __slots__ = ("values", "attrs", "env", "run_eval")

    def __init__(self, values: Sequence[str], attrs: Mapping[str, str],
                 env: Mapping[str, str] | None, run_eval: Callable[..., str] | None):
        self.values = values
        self.attrs = attrs
        self.env = env
        self.run_eval = run_eval


class Dynamic(Protocol):
    def render(self, ctx: RenderContext) -> str: ...


@dataclass(slots=True)
class Segment:
    """A run of parts that one node-file element produced (for error messages)."""

    parts: list  # list[str | int | Dynamic]
    path: str | None
    line: int | None
    label: str


@dataclass(frozen=True, slots=True)
class UndefinedAttribute:
    """An ``&name;`` the host has no attribute for, where it is first used."""

    name: str
    path: str
    line: int

    def __str__(self) -> str:
        return (f"{self.path}:{self.line}: undefined entity &{self.name}; (the host has no "
                f"attribute {self.name!r})")


class UndefinedAttributes(GraphError):
    """Undefined ``&name;`` references of one kickstart; ``missing`` lists every one of them.

    The message (and ``path``/``line``) is the first one's, as for any GraphError.
    """

    def __init__(self, missing: list[UndefinedAttribute]):
        first = missing[0]
        more = ""
        if len(missing) > 1:
            more = f" (and {len(missing) - 1} more: " + ", ".join(m.name for m in missing[1:]) + ")"
        super().__init__(f"undefined entity &{first.name}; (the host has no attribute "
                         f"{first.name!r}){more}", path=first.path, line=first.line)
        self.missing = missing


def undefined(slots: list[Slot], attrs: Mapping[str, str]) -> list[UndefinedAttribute]:
    """The required slots (``&name;``) that ``attrs`` does not define, one per name."""
    out: dict[str, UndefinedAttribute] = {}
    for slot in slots:
        if slot.required and slot.name not in out and lookup(attrs, slot.name) is None:
            out[slot.name] = UndefinedAttribute(slot.name, slot.path, slot.line)
    return list(out.values())


def slot_value(slot: Slot, attrs: Mapping[str, str]) -> str:
    """The host's value for ``slot``: undefined &name; and control characters are errors."""
    value = attrs.get(slot.name)
    if value is None:
        value = lookup(attrs, slot.name)
        if value is None:
            if slot.required:
                raise GraphError(f"undefined entity &{slot.name}; (the host has no attribute "
                                 f"{slot.name!r})", path=slot.path, line=slot.line)
            return ""
    bad = _CONTROL.search(value)
    if bad is not None:
        raise GraphError(f"attribute {slot.name!r} contains the control character "
                         f"U+{ord(bad.group()):04X}; refusing to substitute it into the "
                         f"kickstart", path=slot.path, line=slot.line)
    return value


class Joiner:
    """A template without dynamic parts as its static runs and the slot read between each two: a warm render
    fills a list by two slice assignments and joins it (a tenth of ``str.format``'s time on a kickstart)."""

    __slots__ = ("statics", "last", "pick", "count")

    def __init__(self, statics: list[str], order: list[int]):
        self.statics, self.last, self.count = statics[:-1], statics[-1], len(order)
        getter = itemgetter(*order) if order else None
        self.pick = (lambda values: (values[order[0]],)) if len(order) == 1 else getter

    @classmethod
    def of(cls, parts: list) -> Joiner | None:
        """None if a part is dynamic (rendered per host by code)."""
        statics: list[str] = []
        order: list[int] = []
        run: list[str] = []
        for p in parts:
            if p.__class__ is str:
                run.append(p)
            elif p.__class__ is int:
                statics.append("".join(run))
                run = []
                order.append(p)
            else:
                return None
        statics.append("".join(run))
        return cls(statics, order)

    def join(self, values: Sequence[str]) -> str:
        if not self.count:
            return self.last
        out: list[str | None] = [None] * (2 * self.count)
        out[::2] = self.statics
        out[1::2] = self.pick(values)
        out.append(self.last)
        return "".join(out)  # type: ignore[arg-type]


def picker(keys: Sequence[Any]) -> Callable[[Any], tuple]:
    """``lambda m: tuple(m[k] for k in keys)``, as one itemgetter where it can be (itemgetter of one key
    returns the value itself, of none is not allowed)."""
    if len(keys) > 1:
        return itemgetter(*keys)
    if len(keys) == 1:
        key = keys[0]
        return lambda mapping: (mapping[key],)
    return lambda mapping: ()


def _header_pattern(parts: list) -> str:
    """The %-lines of ``parts`` as a ``str.format`` pattern (``{i}``: slot i)."""
    pattern = "".join(p.replace("{", "{{").replace("}", "}}") if p.__class__ is str else "{" + str(p) + "}"
                      for p in parts)
    return "\n".join(line for line in pattern.split("\n") if line.startswith("%"))


def render_parts(parts: list, ctx: RenderContext) -> str:
    values = ctx.values
    return "".join([p if p.__class__ is str else (values[p] if p.__class__ is int else p.render(ctx))
                     for p in parts])


@dataclass
class Template:
    segments: list[Segment]
    slots: list[Slot]
    token_slots: tuple[int, ...]
    linestart_slots: tuple[int, ...]
    delimiters: tuple[str, ...]
    dynamic: bool
    ks_version: str
    flat: list = field(init=False)
    _static: str | None = field(init=False, default=None)
    _joiner: Joiner | None = field(init=False, default=None)
    _names: tuple[str, ...] = field(init=False, default=())
    _header_format: str | None = field(init=False, default=None)
    _headers: tuple[str, ...] | None = field(init=False, default=None)  # when no value is on a %-line
    # True once a render whose values all passed the cheap checks was validated; until then
    # even "safe" renders are validated (the first host may have had unusual values).
    validated_safe: bool = field(init=False, default=False)

    def __post_init__(self) -> None:
        self.flat = [p for seg in self.segments for p in seg.parts]
        if not self.slots and not self.dynamic:
            self._static = "".join(self.flat)
        self._joiner = Joiner.of(self.flat)
        self._names = tuple(slot.name for slot in self.slots)
        # C-level pickers (a tuple each): a storm's render reads 20-odd values per request.
        self._pick_names = picker(self._names)
        self._pick_tokens = picker(self.token_slots)
        self._pick_linestart = picker(self.linestart_slots)
        if self._joiner is not None:
            # On the fast path no value holds a line break or starts a line with %, so the kickstart's
            # section headers are the template's %-lines with the values in them.
            self._header_format = _header_pattern(self.flat)
            try:  # no slot on any %-line (the stock graph): the same headers for every host
                self._headers = tuple(self._header_format.format().split("\n")) if self._header_format else ()
            except (IndexError, KeyError):
                self._headers = None

    # -- values -------------------------------------------------------------------------------
    def values(self, attrs: Mapping[str, str]) -> Sequence[str]:
        # The usual case in one pass: every name defined as it is spelled, no control character in any
        # value (a tab is allowed, so tabs join them); anything else takes the slot-by-slot way and its errors.
        try:
            values = self._pick_names(attrs)
        except KeyError:
            values = None
        if values is not None and not _CONTROL.search("\t".join(values)):
            return values
        try:
            return [slot_value(slot, attrs) for slot in self.slots]
        except GraphError:
            missing = undefined(self.slots, attrs)
            if missing:  # name them all, not one per attempt
                raise UndefinedAttributes(missing) from None
            raise

    def needs_check(self, values: Sequence[str]) -> bool:
        if self.dynamic:
            return True
        if self.token_slots:
            tokens = self._pick_tokens(values)
            if "" in tokens or _NOT_WORD.search("".join(tokens)):
                return True
        # Values hold no line break here (``values`` refused them), so one multi-line search checks them all.
        return bool(self.linestart_slots) and _LINESTART.search(
            "\n".join(self._pick_linestart(values))) is not None

    # -- rendering ------------------------------------------------------------------------------
    def render(self, attrs: Mapping[str, str], env: Mapping[str, str] | None = None,
               run_eval: Callable[..., str] | None = None) -> str:
        return self.render_with_headers(attrs, env, run_eval)[0]

    def render_with_headers(self, attrs: Mapping[str, str], env: Mapping[str, str] | None = None,
                            run_eval: Callable[..., str] | None = None) -> tuple[str, tuple[str, ...] | None]:
        """The kickstart and, when known without scanning it, its section headers (the lines that start
        with %, as ``section_headers`` of the text would find them); None when the caller must scan."""
        if self._static is not None:
            return self._static, None
        values = self.values(attrs)
        if self.validated_safe and not self.needs_check(values):
            if self._joiner is not None:
                text = self._joiner.join(values)
                if self._headers is not None:
                    return text, self._headers
                pattern = self._header_format
                return text, (tuple(pattern.format(*values).split("\n")) if pattern else ())
            return render_parts(self.flat, RenderContext(values, attrs, env, run_eval)), None
        return self._checked_render(values, RenderContext(values, attrs, env, run_eval)), None

    def first_render(self, attrs: Mapping[str, str], env: Mapping[str, str] | None = None,
                     run_eval: Callable[..., str] | None = None) -> str:
        """Render and validate unconditionally (the template's one-time validation)."""
        values = self.values(attrs)
        return self._checked_render(values, RenderContext(values, attrs, env, run_eval))

    def _checked_render(self, values: Sequence[str], ctx: RenderContext) -> str:
        texts = [render_parts(seg.parts, ctx) for seg in self.segments]
        text = "".join(texts)
        self.check_delimiters(text, texts)
        self.validate(text, texts)
        if not self.needs_check(values):
            self.validated_safe = True
        return text

    def check_delimiters(self, text: str, texts: list[str]) -> None:
        lines = text.splitlines() if self.delimiters else []
        for delim in self.delimiters:
            if lines.count(delim) != 1:
                seg = self._segment_with(texts, "\n" + delim + "\n")
                raise GraphError(f"a substituted value or <eval> output contains the line "
                                 f"{delim!r}, which ends a <file> here-document early",
                                 path=seg.path if seg else None, line=seg.line if seg else None)

    def _segment_with(self, texts: list[str], needle: str) -> Segment | None:
        for seg, t in zip(self.segments, texts):
            if needle in t:
                return seg
        return None

    def validate(self, text: str, texts: list[str]) -> None:
        try:
            check(text, self.ks_version)
        except KickstartProblem as p:
            seg = self.segment_at(texts, p.lineno)
            where = ""
            if p.lineno:
                line = text.splitlines()[p.lineno - 1] if p.lineno <= len(text.splitlines()) else ""
                where = f" at kickstart line {p.lineno} ({line.strip()[:80]!r})"
            origin = f"; produced by {seg.label}" if seg and seg.path else ""
            raise KickstartInvalid(f"pykickstart {self.ks_version} rejected the kickstart{where}: "
                                   f"{p.message}{origin}",
                                   path=seg.path if seg else None,
                                   line=seg.line if seg else None) from None

    def segment_at(self, texts: list[str], lineno: int | None) -> Segment | None:
        if not lineno:
            return None
        line = 1
        for seg, t in zip(self.segments, texts):
            n = t.count("\n")
            if line <= lineno < line + n:
                return seg
            line += n
        return None
