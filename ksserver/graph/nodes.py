"""Node file (``<kickstart>``) -> intermediate form (ir.py), once, at load time.

Static problems (a malformed ``cond``, a ``<file>`` without ``name``, an unknown ``<main>``
directive) raise :class:`GraphError` here, so a broken file fails the library load.
Unknown or unsupported elements become :class:`ir.Bad`, reported only if they are used.
"""

from __future__ import annotations

from functools import cache

from lxml import etree

from ..errors import GraphError
from .ir import (Bad, Conds, DebugIR, EvalIR, FileIR, Item, MainIR, NodeIR, PackageIR, Part,
                 ScriptIR, Text, VarRef, VarSet)
from .xmlload import XmlDoc

# The Rocks 6.1 generator's <main> whitelist; lilo/langsupport get special spelling.
ROCKS_MAIN = frozenset({
    "auth", "clearpart", "device", "driverdisk", "install", "nfs", "cdrom", "interactive",
    "harddrive", "url", "keyboard", "lang", "langsupport", "lilo", "lilocheck", "bootloader",
    "mouse", "network", "part", "volgroup", "logvol", "raid", "reboot", "rootpw", "skipx",
    "text", "timezone", "upgrade", "xconfig", "zerombr",
})


@cache
def main_tags() -> frozenset[str]:
    """Rocks' whitelist, every command any pykickstart version knows, and <ksinclude>."""
    # imported here: loading every pykickstart handler costs ~0.1 s, not wanted at import time
    from pykickstart.handlers.control import commandMap

    return ROCKS_MAIN | frozenset(c for m in commandMap.values() for c in m) | {"ksinclude"}


# Top-level elements that never contribute to a kickstart.  <log> is a misspelt changelog
# in Rocks' database-sec.xml; <screen> and <cfengine> belong to the Rocks frontend installer.
IGNORED = frozenset({"description", "changelog", "copyright", "log", "screen", "cfengine"})

UNSUPPORTED = {
    "include": "<{tag}> inlines a file from a Rocks distro build directory, which ksserver "
               "does not have; put the content in the node file",
    "sinclude": "<{tag}> inlines a file from a Rocks distro build directory, which ksserver "
                "does not have; put the content in the node file",
    "copy": "<copy> embeds a server file into the kickstart; use <file> with the content instead",
    "boot": "<boot> relied on Rocks' rocks-pre/rocks-post init scripts; use a <post> that "
            "installs a systemd unit instead",
}

# Which child elements each kind of text accepts.
_BODY = frozenset({"file", "eval", "var"})
_INLINE = frozenset({"eval", "var"})
_VAR_ONLY = frozenset({"var"})

_EVAL_MODES = ("quote", "xml")
# Rocks 6.2's generator: an element without phase= belongs to the install phases; one whose
# phase= lists none of them (phase="reconfigure") is left out of the kickstart.
INSTALL_PHASES = frozenset({"pre", "post"})
RECONFIGURE = "reconfigure"
_FILE_MODES = ("create", "append")


class NodeBuilder:
    """Builds the :class:`NodeIR` of one parsed node file."""

    def __init__(self, doc: XmlDoc):
        self.doc = doc
        self.path = str(doc.path)
        self.ir = NodeIR()

    # -- helpers ---------------------------------------------------------------------------
    def error(self, message: str, el: etree._Element) -> GraphError:
        return GraphError(message, path=self.path, line=el.sourceline)

    def conds(self, el: etree._Element, inherited: Conds = ()) -> Conds:
        cond = self.doc.condition(el)
        if cond is None:
            return inherited
        self.ir.cond_names.update(cond.names)
        return inherited + (cond,)

    def attr(self, el: etree._Element, name: str) -> Text | None:
        value = el.get(name)
        return None if value is None else self.doc.split(value)

    def text(self, el: etree._Element, allowed: frozenset[str]) -> Text:
        """Mixed content of ``el``: its text, allowed child elements, and their tails."""
        parts: list[Part] = list(self.doc.split(el.text))
        for child in el:
            if isinstance(child.tag, str):
                parts.append(self.inline(child, allowed))
            parts.extend(self.doc.split(child.tail))
        return tuple(parts)

    def inline(self, el: etree._Element, allowed: frozenset[str]) -> Part:
        tag = el.tag
        conds = self.conds(el)
        line = el.sourceline or 0
        if tag in UNSUPPORTED:
            return Bad(UNSUPPORTED[tag].format(tag=tag) + " (unsupported)", line, conds)
        if tag not in allowed:
            return Bad(f"<{tag}> is not allowed here", line, conds)
        if tag == "var":
            return self.var(el, conds)
        if tag == "eval":
            return self.eval(el, conds)
        return self.file(el, conds)

    # -- elements that can appear in text -------------------------------------------------
    def var(self, el: etree._Element, conds: Conds) -> VarRef | VarSet:
        line = el.sourceline or 0
        name = self.doc.plain(el.get("name"), line, "<var name=>").strip()
        if not name:
            raise self.error("<var> needs a name= attribute", el)
        if el.get("val") is not None:
            return VarSet(name, line, value=self.attr(el, "val"), conds=conds)
        if el.get("ref") is not None:
            ref = self.doc.plain(el.get("ref"), line, "<var ref=>").strip()
            return VarSet(name, line, ref=ref, conds=conds)
        return VarRef(name, line, conds)

    def eval(self, el: etree._Element, conds: Conds) -> EvalIR:
        mode = el.get("mode", "quote")
        if mode not in _EVAL_MODES:
            raise self.error(f"<eval mode={mode!r}>: mode must be quote or xml", el)
        env = tuple((k, self.doc.split(v)) for k, v in el.attrib.items()
                    if k not in ("shell", "mode"))
        self.ir.has_eval = True
        return EvalIR(shell=self.attr(el, "shell") or ("sh",), mode=mode,
                      body=self.text(el, _VAR_ONLY), env=env, line=el.sourceline or 0,
                      conds=conds)

    def file(self, el: etree._Element, conds: Conds) -> FileIR | Bad:
        line = el.sourceline or 0
        name = self.attr(el, "name")
        if not name or (all(isinstance(p, str) for p in name) and not "".join(name).strip()):  # type: ignore[arg-type]
            raise self.error("<file> needs a name= attribute", el)
        mode = el.get("mode", "create")
        if mode == "pipe" or el.get("src") is not None or el.get("include") is not None:
            return Bad("<file mode=\"pipe\">, src= and include= (Rocks 6.2) read files on the "
                       "server; they are not supported", line, conds)
        if mode not in _FILE_MODES:
            raise self.error(f"<file mode={mode!r}>: mode must be create or append", el)
        vars_ = el.get("vars", "literal")
        if vars_ not in ("literal", "expanded"):
            raise self.error(f"<file vars={vars_!r}>: vars must be literal or expanded", el)
        return FileIR(name=name, mode=mode, owner=self.attr(el, "owner"),
                      perms=self.attr(el, "perms"), expanded=vars_ == "expanded",
                      expr=self.attr(el, "expr"), content=self.text(el, _INLINE),
                      line=line, conds=conds)

    # -- top level ----------------------------------------------------------------------------
    def build(self) -> NodeIR:
        root = self.doc.root
        if root.tag not in ("kickstart", "jumpstart"):
            raise self.error(f"a node file's root element must be <kickstart>, not <{root.tag}>",
                             root)
        self.conds(root)  # a condition on the root is parsed (for errors) but has no effect
        for el in root:
            if isinstance(el.tag, str):
                self.top(el)
        return self.ir

    def phases(self, el: etree._Element, inherited: frozenset[str] = INSTALL_PHASES) -> frozenset[str]:
        value = el.get("phase")
        if value is None:
            return inherited
        phases = frozenset(p.strip() for p in value.split(",") if p.strip())
        if not phases:
            raise self.error("empty phase=", el)
        return phases

    def add(self, item: Item, phases: frozenset[str] = INSTALL_PHASES) -> None:
        if phases & INSTALL_PHASES:
            self.ir.items.append(item)
        if RECONFIGURE in phases and isinstance(item, ScriptIR):
            self.ir.reconfigure.append(item)

    def top(self, el: etree._Element) -> None:
        tag = el.tag
        if tag in IGNORED:
            return
        phases = self.phases(el)
        conds = self.conds(el)
        line = el.sourceline or 0
        if tag == "main":
            for child in el:
                if isinstance(child.tag, str):
                    self.main_child(child, conds, phases)
        elif tag in main_tags():
            # Rocks' generator walked the whole document for whitelisted tags, so a
            # directive outside <main> still counted (base-5.0 grub.xml relies on it).
            self.main_child(el, (), INSTALL_PHASES)
        elif tag == "package":
            self.package(el, conds, phases)
        elif tag in ("pre", "post", "configure"):
            kind = "pre" if tag == "pre" else "post"
            self.add(ScriptIR(kind, self.attr(el, "interpreter"), self.attr(el, "arg"),
                              self.text(el, _BODY), line, conds), phases)
        elif tag == "debug":
            self.add(DebugIR(self.text(el, _VAR_ONLY), line, conds), phases)
        elif tag == "var":
            var = self.var(el, conds)
            if isinstance(var, VarSet):
                self.add(var, phases)
        elif tag == "eval":
            self.add(Bad("a top-level <eval> is not supported; put it inside <pre>, <post>, "
                         "<file> or a <main> directive", line, conds), phases)
        elif tag in UNSUPPORTED:
            self.add(Bad(UNSUPPORTED[tag].format(tag=tag) + " (unsupported)", line, conds), phases)
        else:
            self.add(Bad(f"unknown element <{tag}> in a node file", line, conds), phases)

    def main_child(self, el: etree._Element, inherited: Conds,
                   inherited_phases: frozenset[str]) -> None:
        tag = el.tag
        conds = self.conds(el, inherited)
        phases = self.phases(el, inherited_phases)
        if tag == "var":
            var = self.var(el, conds)
            if isinstance(var, VarSet):
                self.add(var, phases)
            return
        if tag in IGNORED:
            return
        if tag not in main_tags():
            raise self.error(f"unknown <main> directive <{tag}> (not a kickstart command)", el)
        self.add(MainIR(tag, self.text(el, _INLINE), el.sourceline or 0, conds), phases)

    def package(self, el: etree._Element, conds: Conds, phases: frozenset[str]) -> None:
        name = self.text(el, _VAR_ONLY)
        self.add(PackageIR(name=name, meta=el.get("type") == "meta",
                           disabled=el.get("disable") is not None,
                           line=el.sourceline or 0, conds=conds), phases)


def build_node(doc: XmlDoc) -> NodeIR:
    return NodeBuilder(doc).build()


def build_fragment(doc: XmlDoc, allowed: str) -> Text:
    """Text of an ``<eval mode="xml">`` output wrapped in ``doc.root`` (body/inline/var)."""
    sets = {"body": _BODY, "inline": _INLINE, "var": _VAR_ONLY}
    return NodeBuilder(doc).text(doc.root, sets[allowed])
