"""The monolithic "profile XML" (Rocks §1.7) and the Graphviz drawing of a host's graph.

``profile_xml`` concatenates, in traversal order, every element of every node file that
applies to the host: conditions evaluated, attribute references and ``<var>`` substituted,
``<eval>`` replaced by its output (or by a comment when evals are disabled).  Every element
carries ``file=`` and ``source=``.  It is for people (``rocks list host xml``), not a wire
format: no DOCTYPE of entities, and the values are already in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from copy import deepcopy
from pathlib import Path

from lxml import etree

from ..errors import GraphError
from .conditions import Condition, CondSyntaxError
from .evals import eval_env
from .graphs import Edge
from .library import NodeFile
from .nodes import IGNORED
from .render import Slot, slot_value
from .xmlload import Ent, XmlDoc, parse_text

EvalRunner = Callable[[str, str, Mapping[str, str], str, int], str]


def _holds(el: etree._Element, doc: XmlDoc, attrs: Mapping[str, str]) -> bool:
    values = {k: el.get(k) for k in ("arch", "os", "release", "cond")}
    if not any(values.values()):
        return True
    try:
        cond = Condition(**{k: doc.plain(v, el.sourceline or 0, k) if v else None
                            for k, v in values.items()})
    except CondSyntaxError as e:  # already reported at load; keep the message consistent
        raise GraphError(f"bad cond: {e}", path=str(doc.path), line=el.sourceline) from None
    return cond.evaluate(attrs)


def _remove(el: etree._Element, replacement: str = "") -> None:
    """Remove ``el``, keeping its tail (and ``replacement`` text) in the document."""
    parent = el.getparent()
    assert parent is not None
    text = replacement + (el.tail or "")
    prev = el.getprevious()
    if prev is not None:
        prev.tail = (prev.tail or "") + text
    else:
        parent.text = (parent.text or "") + text
    parent.remove(el)


class ProfileBuilder:
    def __init__(self, attrs: Mapping[str, str], env: Mapping[str, str] | None,
                 run_eval: EvalRunner | None):
        self.attrs = attrs
        self.env = env
        self.run_eval = run_eval
        self.vars: dict[str, str] = {}

    def value(self, doc: XmlDoc, text: str | None) -> str | None:
        if text is None:
            return None
        out = []
        for part in doc.split(text):
            if isinstance(part, Ent):
                out.append(slot_value(Slot(part.name, True, str(doc.path), part.line), self.attrs))
            else:
                out.append(part)
        return "".join(out)

    def var_value(self, name: str, doc: XmlDoc, line: int) -> str:
        if name in self.vars:
            return self.vars[name]
        return slot_value(Slot(name, False, str(doc.path), line), self.attrs)

    def process(self, el: etree._Element, doc: XmlDoc, nf: NodeFile) -> None:
        """Substitute inside ``el`` (already known to apply) and annotate it."""
        for key, val in list(el.attrib.items()):
            el.set(key, self.value(doc, val) or "")
        el.text = self.value(doc, el.text)
        for child in list(el):
            if not isinstance(child.tag, str):
                continue
            child.tail = self.value(doc, child.tail)
            if not _holds(child, doc, self.attrs):
                _remove(child)
            elif child.tag == "var":
                self.var(child, doc)
            elif child.tag == "eval":
                self.eval(child, doc, nf)
            else:
                self.process(child, doc, nf)
        if el.get("file") is None:
            el.set("file", nf.relpath)
        if el.get("source") is None:
            el.set("source", nf.label)

    def var(self, el: etree._Element, doc: XmlDoc) -> None:
        line = el.sourceline or 0
        name = (el.get("name") or "").strip()
        if el.get("val") is not None:
            self.vars[name] = self.value(doc, el.get("val")) or ""
            _remove(el)
        elif el.get("ref") is not None:
            self.vars[name] = self.var_value(el.get("ref", ""), doc, line)
            _remove(el)
        else:
            _remove(el, self.var_value(name, doc, line))

    def eval(self, el: etree._Element, doc: XmlDoc, nf: NodeFile) -> None:
        line = el.sourceline or 0
        if self.run_eval is None:
            comment = etree.Comment(f" <eval> at {nf.relpath}:{line} skipped (evals disabled) ")
            comment.tail = el.tail
            el.addprevious(comment)
            el.getparent().remove(el)  # type: ignore[union-attr]
            return
        for child in list(el):
            if child.tag == "var":
                child.tail = self.value(doc, child.tail)
                self.var(child, doc)
        script = self.value(doc, el.text) or ""
        shell = self.value(doc, el.get("shell")) or "sh"
        own = {k: self.value(doc, v) or "" for k, v in el.attrib.items() if k not in ("shell", "mode")}
        output = self.run_eval(shell, script, eval_env(self.attrs, own, self.env), str(nf.path), line)
        if el.get("mode", "quote") != "xml":
            _remove(el, output)
            return
        try:
            frag = parse_text(f"<eval-output>{output}</eval-output>", Path(nf.path))
        except GraphError as e:
            raise GraphError(f"the output of <eval mode=\"xml\"> is not well-formed XML: {e.reason}",
                             path=str(nf.path), line=line) from None
        self.process(frag.root, frag, nf)
        if frag.root.text:
            _remove_text_before(el, frag.root.text)
        for child in list(frag.root):
            el.addprevious(child)
        _remove(el)

    def node_file(self, nf: NodeFile, out: etree._Element) -> None:
        comment = etree.Comment(f" {nf.describe()} ")
        comment.tail = "\n"
        out.append(comment)
        for el in nf.doc.root:
            if not isinstance(el.tag, str) or el.tag in IGNORED:
                continue
            if not _holds(el, nf.doc, self.attrs):
                continue
            if el.tag == "var":  # top level: only assignments matter
                name = (el.get("name") or "").strip()
                if el.get("val") is not None:
                    self.vars[name] = self.value(nf.doc, el.get("val")) or ""
                elif el.get("ref") is not None:
                    self.vars[name] = self.var_value(el.get("ref", ""), nf.doc, el.sourceline or 0)
                continue
            copy = deepcopy(el)  # keeps sourceline, unlike a serialise/parse round trip
            self.process(copy, nf.doc, nf)
            copy.tail = "\n"
            out.append(copy)


def _remove_text_before(el: etree._Element, text: str) -> None:
    prev = el.getprevious()
    if prev is not None:
        prev.tail = (prev.tail or "") + text
    else:
        parent = el.getparent()
        assert parent is not None
        parent.text = (parent.text or "") + text


def profile_xml(files: list[NodeFile], attrs: Mapping[str, str], root: str, graph: str,
                ks_version: str, env: Mapping[str, str] | None,
                run_eval: EvalRunner | None) -> str:
    top = etree.Element("kickstart", root=root, graph=graph, ks_version=ks_version)
    top.text = "\n"
    builder = ProfileBuilder(attrs, env, run_eval)
    for nf in files:
        builder.node_file(nf, top)
    return etree.tostring(top, encoding="unicode", xml_declaration=False) + "\n"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def graph_dot(graph: str, root: str, reached: list[str], edges: list[Edge],
              files: Mapping[str, list[NodeFile]]) -> str:
    """Graphviz text: reached nodes (the root as a bold box) and the edges followed."""
    lines = [f"digraph {_quote(graph)} {{", "  node [shape=ellipse];"]
    for name in reached:
        lines_ = [name] + [f"{nf.path.name} ({nf.label})" for nf in files.get(name, [])]
        label = "\\n".join(_quote(t)[1:-1] for t in lines_)
        style = " shape=box style=bold" if name == root else ""
        lines.append(f'  {_quote(name)} [label="{label}"{style}];')
    seen = set()
    for e in edges:
        if (e.src, e.dst) not in seen:
            seen.add((e.src, e.dst))
            lines.append(f"  {_quote(e.src)} -> {_quote(e.dst)};")
    lines.append("}")
    return "\n".join(lines) + "\n"
