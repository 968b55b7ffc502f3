"""Traversal + lowering -> a kickstart :class:`Template` (sections in kickstart order).

Sections, in order: the ``#`` comment block (traversal order), ``<debug>`` comments, main
directives (traversal order), ``%packages`` (sorted; ``@group`` for type="meta";
``-name`` for disabled packages no node enables), every ``%pre``, every ``%post``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ..errors import GraphError
from .expand import ARG_INTERP, COMMENTABLE, SHELLS, Lowerer, active, interpreter_of, literal, strip_parts
from .ir import Bad, DebugIR, MainIR, PackageIR, ScriptIR, VarSet
from .library import GraphLibrary, NodeFile, missing_node
from .render import RenderContext, Segment, Template, UndefinedAttributes, render_parts, slot_value, undefined
from .traverse import merge, reach

SECTION_ORDER = ("comment", "debug", "main", "packages", "pre", "post")
PACKAGES_HEADER = "\n%packages --ignoremissing\n"
# How <main> tags are spelt in the kickstart when it differs from the tag.
MAIN_SPELLING = {"lilo": "bootloader", "langsupport": "langsupport --default=",
                 "ksinclude": "%include"}


@dataclass
class _Package:
    parts: list
    disabled: bool
    path: str
    line: int
    label: str


def traversal(lib: GraphLibrary, graph: str, root: str, attrs: Mapping[str, str]) -> list[NodeFile]:
    """The node files making up ``root``'s kickstart, in order."""
    g = lib.graph(graph)
    if not lib.has_node(root):
        if not any(e.src == root for e in g.definition.edges):
            raise GraphError(f"unknown root node {root!r}: no {root}.xml in any source and no "
                             f"edge from it in graph {graph!r}")
    reached, used = reach(root, g.definition.edges, attrs)
    if not lib.has_node(root):
        raise GraphError(f"root node {root!r}: {missing_node(root)}")
    for node in reached:
        if not lib.has_node(node):
            edge = next(e for e in used if e.dst == node)  # the edge that reached it first
            raise GraphError(f"edge {edge.src} -> {edge.dst}: {missing_node(node)}, and the "
                             f"traversal from {root!r} reaches it", path=str(edge.path),
                             line=edge.line)
    return [nf for node in merge(g.order, reached) for nf in lib.node_files(node)]


class _Assembler:
    def __init__(self, attrs: Mapping[str, str], evals: bool, reconfigure: bool = False):
        self.low = Lowerer(attrs, evals)
        self.reconfigure = reconfigure  # the reconfigure phase's scripts, not a kickstart
        self.script_delimiters: list[str] = []  # one per reconfigure script
        self.sections: dict[str, list[Segment]] = {name: [] for name in SECTION_ORDER}
        self.packages: list[_Package] = []
        self.nf: NodeFile | None = None
        self.handlers: dict[type, Callable] = {
            MainIR: self.main, PackageIR: self.package, ScriptIR: self.script,
            DebugIR: self.debug, VarSet: self.low.var_set, Bad: self.bad,
        }

    def segment(self, section: str, parts: list, line: int) -> None:
        assert self.nf is not None
        self.sections[section].append(
            Segment(parts, str(self.nf.path), line, f"{self.nf.relpath}:{line} ({self.nf.label})"))

    def node_file(self, nf: NodeFile) -> None:
        self.nf = nf
        self.low.path, self.low.relpath = str(nf.path), nf.relpath
        for item in (nf.ir.reconfigure if self.reconfigure else nf.ir.items):
            if active(item.conds, self.low.attrs):
                self.handlers[type(item)](item)

    def bad(self, item: Bad) -> None:
        raise self.low.error(item.message, item.line)

    def main(self, item: MainIR) -> None:
        self.low.skipped_eval = None
        text = strip_parts(self.low.lower_into(item.text, "cmd"))
        if self.low.skipped_eval is not None:
            assert self.nf is not None
            self.segment("main", [f"# {item.tag} skipped: it holds an <eval> "
                                  f"({self.nf.relpath}:{self.low.skipped_eval}) and evals are "
                                  f"disabled\n"], item.line)
            return
        head = MAIN_SPELLING.get(item.tag, item.tag)
        if text and isinstance(text[0], str) and text[0].startswith("%"):
            head += "\n"  # Rocks' <install>%include /tmp/partition-info</install>: own line
        elif text and not head.endswith("="):
            head += " "
        self.segment("main", [head, *text, "\n"], item.line)

    def package(self, item: PackageIR) -> None:
        parts = strip_parts(self.low.lower_into(item.name, "cmd"))
        if not parts:
            raise self.low.error("empty <package>", item.line)
        if item.meta:
            parts.insert(0, "@")
        assert self.nf is not None
        self.packages.append(_Package(parts, item.disabled, str(self.nf.path), item.line,
                                      f"{self.nf.relpath}:{item.line} ({self.nf.label})"))

    def script(self, item: ScriptIR) -> None:
        low = self.low
        interp = strip_parts(low.lower_into(item.interpreter, "cmd"))
        arg = strip_parts(low.lower_into(item.arg, "cmd"))
        name = interpreter_of(interp, arg)
        low.shell_script = name is None or bool(SHELLS.match(name))
        try:
            body = strip_parts(low.lower_into(item.body, "body"), blank_lines_only=True)
        finally:
            low.shell_script = True
        if not body:
            return  # nothing left once conditions were applied
        if self.reconfigure:
            self.reconfigure_script(item, interp, arg, body)
            return
        head: list = ["\n%" + item.kind]
        if interp:
            head += [" --interpreter=", *interp]
        if arg:
            head += [" ", *arg]
        head.append("\n")
        assert self.nf is not None
        if name is None or COMMENTABLE.match(name):
            head.append(f"# {self.nf.relpath}:{item.line} ({self.nf.label})\n")
        self.segment(item.kind, [*head, *body, "\n%end\n"], item.line)

    def reconfigure_script(self, item: ScriptIR, interp: list, arg: list, body: list) -> None:
        """One script of the reconfigure phase: written to a file, run by its interpreter."""
        assert self.nf is not None
        delim = self.low.delimiter(body, item.line, "reconfigure")
        self.script_delimiters.append(delim)
        m = ARG_INTERP.search(literal(arg) or "")
        run = interp or ([m.group(1)] if m else ["/bin/bash"])
        self.segment("post", [f"\n# {self.nf.relpath}:{item.line} ({self.nf.label})\n",
                              f"cat > \"$script\" << '{delim}'\n", *body, f"\n{delim}\n",
                              *run, ' "$script" || status=1\n'], item.line)

    def debug(self, item: DebugIR) -> None:
        parts = strip_parts(self.low.lower_into(item.text, "comment"))
        # values cannot hold line breaks, so prefixing the literal ones keeps it all comment
        out = ["# "] + [p.replace("\n", "\n# ") if isinstance(p, str) else p for p in parts]
        self.segment("debug", out + ["\n"], item.line)

    # -- packages -------------------------------------------------------------------------------
    def package_segments(self) -> list[Segment]:
        out = [Segment([PACKAGES_HEADER], None, None, "packages")]
        if all(literal(p.parts) is not None for p in self.packages):
            enabled: dict[str, _Package] = {}
            disabled: dict[str, _Package] = {}
            for p in self.packages:
                name = "".join(p.parts)
                (disabled if p.disabled else enabled).setdefault(name, p)
            lines = [(n, enabled[n]) for n in sorted(enabled)]
            lines += [("-" + n, disabled[n]) for n in sorted(disabled) if n not in enabled]
            out += [Segment([n + "\n"], p.path, p.line, p.label) for n, p in lines]
        else:
            out.append(Segment([_PackagesChunk(self.packages)], None, None, "packages"))
        out.append(Segment(["%end\n"], None, None, "packages"))
        return out


class _PackagesChunk:
    """Package lines whose names hold attribute values: sorted after substitution."""

    def __init__(self, packages: list[_Package]):
        self.packages = [(p.parts, p.disabled) for p in packages]

    def render(self, ctx: RenderContext) -> str:
        enabled: set[str] = set()
        disabled: set[str] = set()
        for parts, off in self.packages:
            (disabled if off else enabled).add(render_parts(parts, ctx))
        lines = sorted(enabled) + ["-" + n for n in sorted(disabled - enabled)]
        return "".join(n + "\n" for n in lines)


def _comment_block(files: list[NodeFile], low: Lowerer, root: str, graph: str) -> list[Segment]:
    low.ctx = "comment"
    parts: list = ["# Kickstart generated by ksserver for host "]
    low.out = parts
    low.slot("hostname", False, 0)
    parts.append(f" (graph {graph!r}, root node {root!r})\n#\n# Node traversal order:\n")
    parts += [f"#   {nf.describe()}\n" for nf in files]
    parts.append("#\n")
    return [Segment(parts, None, None, "comment block")]


RECONFIGURE_HEAD = """#!/bin/bash
# The reconfigure phase (Rocks 6.2 phase="reconfigure", run by `rocks run reconfigure`)
# generated by ksserver for host {host} (graph {graph!r}, root node {root!r}).
script=$(mktemp) || exit 1
trap 'rm -f "$script"' EXIT
status=0
"""


def reconfigure_text(lib: GraphLibrary, graph: str, root: str, attrs: Mapping[str, str],
                     evals: bool, run_eval: Callable[..., str] | None,
                     env: Mapping[str, str] | None = None) -> str:
    """The host's reconfigure-phase scripts as one bash script (empty body if none)."""
    files = traversal(lib, graph, root, attrs)
    asm = _Assembler(attrs, evals, reconfigure=True)
    for nf in files:
        asm.node_file(nf)
    low = asm.low
    missing = undefined(low.slots, attrs)
    if missing:
        raise UndefinedAttributes(missing)
    ctx = RenderContext([slot_value(slot, attrs) for slot in low.slots], attrs, env, run_eval)
    texts = [render_parts(seg.parts, ctx) for seg in asm.sections["post"]]
    lines = "".join(texts).splitlines()
    for delim, seg in zip(asm.script_delimiters, asm.sections["post"]):
        if lines.count(delim) != 1:  # an attribute value alone on a line equal to it
            raise GraphError("a value substituted into this script ends its here-document; "
                             "refusing to emit it", path=seg.path, line=seg.line)
    head = RECONFIGURE_HEAD.format(host=attrs.get("hostname", "?"), graph=graph, root=root)
    return head + "".join(texts) + "\nexit $status\n"


def build_template(lib: GraphLibrary, graph: str, root: str, attrs: Mapping[str, str],
                   evals: bool, ks_version: str) -> Template:
    """Compile ``root`` for hosts whose condition attributes equal those in ``attrs``."""
    files = traversal(lib, graph, root, attrs)
    asm = _Assembler(attrs, evals)
    for nf in files:
        asm.node_file(nf)
    low = asm.low
    low.path = low.relpath = ""
    asm.sections["comment"] = _comment_block(files, low, root, graph)
    asm.sections["packages"] = asm.package_segments()
    segments = [seg for name in SECTION_ORDER for seg in asm.sections[name]]
    return Template(segments=segments, slots=low.slots, token_slots=tuple(sorted(low.token)),
                    linestart_slots=tuple(sorted(low.linestart)),
                    delimiters=tuple(low.delimiters), dynamic=low.dynamic,
                    ks_version=ks_version)
