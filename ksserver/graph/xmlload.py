"""Reading node and graph XML with lxml, keeping file names and line numbers.

Rocks 5.2+ files use attributes as XML entities (``&hostname;``) and Rocks made them parse by
prepending a DOCTYPE that declared one entity per attribute.  We substitute explicitly
instead: before parsing, every ``&name;`` that is not one of the five XML entities (and that
is not inside a comment, CDATA section, processing instruction or DOCTYPE) is replaced by a
placeholder made of private-use characters, the same length as the reference so lxml's
line and column numbers stay exact.  The parsed tree is thus independent of any host; the
placeholders become attribute slots later (:func:`split`), filled in per host.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from ..errors import GraphError
from .conditions import Condition, CondSyntaxError

MARK = "\ue000"
_PAD = "\ue001"
_IDX0 = 0xE100
_IDX_MAX = 0xF8FF - _IDX0

# Skip regions where entity references are not expanded by an XML parser, then find refs.
_SCAN = re.compile(
    r"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>|<!DOCTYPE(?:[^\[>]|\[.*?\])*>"
    r"|&([A-Za-z_][A-Za-z0-9_.\-]*);",
    re.S,
)
_XML_DECL = re.compile(r"\A(\ufeff)?\s*<\?xml\b[^>]*\?>")
_ENCODING = re.compile(rb"""\A(?:\xef\xbb\xbf)?\s*<\?xml\b[^>]*?encoding\s*=\s*["']([A-Za-z0-9._\-]+)["']""")
_PLACEHOLDER = re.compile(MARK + "([\ue100-\uf8ff])" + _PAD + "*")
_STANDARD = {"amp", "lt", "gt", "quot", "apos"}
_ATTRS = r"""(?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*"""
_RAW_CHAR = re.compile(r"&[^;&]*;|.", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Ent:
    """An attribute reference ``&name;`` in a node file (undefined -> error)."""

    name: str
    line: int


@dataclass
class XmlDoc:
    path: Path
    root: etree._Element
    entities: list[Ent]
    text: str = ""  # the parsed text (placeholders in), for locating attribute values

    def split(self, text: str | None) -> tuple[str | Ent, ...]:
        """``text`` as literal strings and :class:`Ent` references, in order."""
        if not text:
            return ()
        if MARK not in text:
            return (text,)
        parts: list[str | Ent] = []
        pos = 0
        for m in _PLACEHOLDER.finditer(text):
            if m.start() > pos:
                parts.append(text[pos:m.start()])
            parts.append(self.entities[ord(m.group(1)) - _IDX0])
            pos = m.end()
        if pos < len(text):
            parts.append(text[pos:])
        return tuple(parts)

    def plain(self, text: str | None, line: int, what: str) -> str:
        """``text`` that must not contain entity references (names, conditions...)."""
        parts = self.split(text)
        for part in parts:
            if isinstance(part, Ent):
                raise GraphError(f"entity reference &{part.name}; is not allowed in {what}",
                                 path=str(self.path), line=part.line or line)
        return "".join(parts)  # type: ignore[arg-type]

    def condition(self, el: etree._Element) -> Condition | None:
        """The element's arch=/os=/release=/cond= as one Condition, or None when it has none."""
        values = {k: el.get(k) for k in ("arch", "os", "release", "cond")}
        if not any(v is not None and v.strip() for v in values.values()):
            return None
        line = el.sourceline or 0
        plain = {k: (self.plain(v, line, f"{k}=") if v is not None else None) for k, v in values.items()}
        try:
            return Condition(**plain)
        except CondSyntaxError as e:
            at_line, column = self.value_position(el, "cond", e.column)
            raise GraphError(f"bad cond={plain['cond']!r}: {e} (at character {e.column})",
                             path=str(self.path), line=at_line or line, column=column) from None

    def value_position(self, el: etree._Element, attr: str, index: int) -> tuple[int, int | None]:
        """File line and column of character ``index`` (1-based) of ``el``'s ``attr`` value.

        lxml gives an element's line (that of its start tag's ``>``) but no columns, so the
        start tag is found in the text again; (0, None) if it cannot be found.
        """
        tag = re.escape(str(el.tag))
        end_line = el.sourceline or 0
        for m in re.finditer(rf"<{tag}{_ATTRS}\s*/?>", self.text):
            if self.text.count("\n", 0, m.end()) + 1 != end_line:
                continue
            value = re.search(rf"\s{re.escape(attr)}\s*=\s*(?:\"([^\"]*)\"|'([^']*)')", m.group())
            if value is None:
                continue
            group = 1 if value.group(1) is not None else 2
            raw_start = m.start() + value.start(group)
            # each parsed character is one raw character or one &reference;
            chars = _RAW_CHAR.findall(value.group(group))
            offset = raw_start + sum(len(c) for c in chars[: max(index - 1, 0)])
            line = self.text.count("\n", 0, offset) + 1
            return line, offset - (self.text.rfind("\n", 0, offset) + 1) + 1
        return 0, None


def _decode(raw: bytes, path: Path) -> str:
    m = _ENCODING.match(raw)
    encoding = m.group(1).decode("ascii") if m else "utf-8"
    try:
        return raw.decode(encoding)
    except LookupError:
        raise GraphError(f"unknown encoding {encoding!r} in the XML declaration", path=str(path), line=1)
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise GraphError(f"not valid {encoding}: {e.reason}", path=str(path), line=line)


def _placeholders(text: str, path: Path) -> tuple[str, list[Ent]]:
    entities: list[Ent] = []
    out: list[str] = []
    pos = 0
    line = 1
    for m in _SCAN.finditer(text):
        name = m.group(1)
        if name is None or name in _STANDARD:
            continue
        line += text.count("\n", pos, m.start())
        out.append(text[pos:m.start()])
        index = len(entities)
        if index > _IDX_MAX:
            raise GraphError("too many entity references in one file", path=str(path), line=line)
        entities.append(Ent(name, line))
        # same length as "&name;" so columns reported by lxml stay right
        out.append(MARK + chr(_IDX0 + index) + _PAD * (len(m.group()) - 2))
        pos = m.end()
    out.append(text[pos:])
    return "".join(out), entities


def _parser() -> etree.XMLParser:
    return etree.XMLParser(remove_comments=True, remove_pis=True, resolve_entities=False,
                           no_network=True, load_dtd=False, huge_tree=False)


def _strip_declaration(text: str) -> str:
    # Rocks fed files to expat without their <?xml?> line; some stock files carry a
    # declaration libxml2 rejects (standalone before version), so blank it out, keeping
    # its length and therefore every line and column.
    m = _XML_DECL.match(text)
    if not m:
        return text.lstrip("\ufeff")
    return " " * len(m.group().lstrip("\ufeff")) + text[m.end():]


def parse_text(text: str, path: Path) -> XmlDoc:
    """Parse XML text (already decoded) as if it were the file ``path``."""
    if MARK in text:
        line = text[: text.index(MARK)].count("\n") + 1
        raise GraphError("the file contains U+E000, which ksserver reserves", path=str(path), line=line)
    text, entities = _placeholders(_strip_declaration(text), path)
    parser = _parser()
    try:
        root = etree.fromstring(text, parser)
    except etree.XMLSyntaxError as e:
        # the parser's own log: the exception's error_log also holds earlier parses' errors
        errors = list(parser.error_log)
        if not errors:
            line, column = e.position
            raise GraphError(f"malformed XML: {e.msg}", path=str(path), line=line, column=column)
        first = errors[0]
        raise GraphError(f"malformed XML: {first.message.strip()}", path=str(path),
                         line=first.line, column=first.column)
    if root is None:
        raise GraphError("malformed XML: empty document", path=str(path), line=1)
    return XmlDoc(path=path, root=root, entities=entities, text=text)


def parse_file(path: Path) -> XmlDoc:
    """Parse ``path``; any problem is a :class:`GraphError` naming the file, line and column."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise GraphError(f"cannot read: {e.strerror}", path=str(path))
    return parse_text(_decode(raw, path), path)
