"""``cond=`` expressions and the legacy ``arch=`` / ``os=`` / ``release=`` lists.

Rocks evaluated ``cond`` with Python's ``eval`` over the attribute dict.  We parse a small
expression language instead and never call ``eval``/``exec``/``compile``:

    expr       := or_expr
    or_expr    := and_expr ('or' and_expr)*
    and_expr   := not_expr ('and' not_expr)*
    not_expr   := 'not' not_expr | comparison
    comparison := primary (compare_op primary)*
    compare_op := '==' | '!=' | '<' | '<=' | '>' | '>=' | 'is' | 'is' 'not' | 'in' | 'not' 'in'
    primary    := NAME | STRING | NUMBER | 'True' | 'False' | 'None'
                | '(' expr ')' | '(' ')' | '(' expr ',' [expr (',' expr)* [',']] ')'
                | '[' [expr (',' expr)* [',']] ']'

Names are attribute names; their values are coerced as Rocks did: on/true/yes/y -> True,
off/false/no/n -> False (case-insensitive), integer strings -> int, decimal strings ->
float, anything else stays a string, and an undefined name is None.  Comparisons chain
like Python's; a comparison Python would refuse (None < 6, 'a' in None) is False.
``a is b`` holds when both have the same type and are equal (so ``x is None`` and
``x is True`` mean what they mean in Python; identity of other values is not observable).
Tuples and lists of expressions are values, for ``in``.  Calls, attribute access,
subscripts, arithmetic, lambdas and every other Python construct are syntax errors.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..values import FALSE_WORDS, TRUE_WORDS
from .attrs import lookup

# The project's one yes/no word list, less the digits: "1" stays the number 1 here, as in Rocks.
_TRUE = {w for w in TRUE_WORDS if not w.isdigit()}
_FALSE = {w for w in FALSE_WORDS if not w.isdigit()}
_INT = re.compile(r"[+-]?\d+\Z")
_FLOAT = re.compile(r"[+-]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?\Z")
_MAX_DEPTH = 50

_TOKEN = re.compile(
    r"""(?P<ws>\s+)
      | (?P<num>(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?)
      | (?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<op>==|!=|<=|>=|<|>|\(|\)|\[|\]|,)
    """,
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "is", "in"}
_CONSTANTS: dict[str, Any] = {"True": True, "False": False, "None": None}
_ALLOWED_WORDS = _KEYWORDS | set(_CONSTANTS)
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": lambda a, b: bool(a == b),
    "!=": lambda a, b: bool(a != b),
    "<": lambda a, b: bool(a < b),
    "<=": lambda a, b: bool(a <= b),
    ">": lambda a, b: bool(a > b),
    ">=": lambda a, b: bool(a >= b),
    "is": lambda a, b: type(a) is type(b) and bool(a == b),
    "is not": lambda a, b: not (type(a) is type(b) and bool(a == b)),
    "in": lambda a, b: bool(a in b),
    "not in": lambda a, b: bool(a not in b),
}


class CondSyntaxError(ValueError):
    """A malformed expression; ``column`` is 1-based within the expression."""

    def __init__(self, message: str, column: int):
        super().__init__(message)
        self.column = column


def coerce(value: str | None) -> Any:
    """Rocks' attribute coercion: bool words, int, float, else the string; None stays None."""
    if value is None:
        return None
    low = value.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    text = value.strip()
    if _INT.match(text):
        return int(text)
    if _FLOAT.match(text):
        return float(text)
    return value


def _tokenize(text: str) -> list[tuple[str, str, int]]:
    tokens: list[tuple[str, str, int]] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            if text[pos] == ".":
                raise CondSyntaxError("attribute access ('.') is not allowed: cond= is not Python",
                                      pos + 1)
            raise CondSyntaxError(f"unexpected character {text[pos]!r}", pos + 1)
        kind = m.lastgroup or ""
        if kind == "name" and keyword.iskeyword(m.group()) and m.group() not in _ALLOWED_WORDS:
            raise CondSyntaxError(f"{m.group()!r} is not allowed: cond= is not Python", pos + 1)
        if kind != "ws":
            tokens.append((kind, m.group(), pos + 1))
        pos = m.end()
    return tokens


def _unquote(literal: str) -> str:
    body = literal[1:-1]
    return re.sub(r"\\(.)", r"\1", body)


# AST nodes are tuples: ("name", n) ("const", v) ("not", x) ("and", [..]) ("or", [..])
# ("seq", [..]) ("cmp", first, [(op, operand), ...]).
class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = _tokenize(text)
        self.pos = 0
        self.depth = 0

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def error(self, message: str) -> CondSyntaxError:
        tok = self.peek()
        col = tok[2] if tok else len(self.text) + 1
        return CondSyntaxError(message, col)

    def accept(self, value: str) -> bool:
        tok = self.peek()
        if tok is not None and tok[1] == value and tok[0] in ("name", "op"):
            self.pos += 1
            return True
        return False

    def parse(self) -> tuple:
        if not self.tokens:
            raise CondSyntaxError("empty expression", 1)
        node = self.or_expr()
        tok = self.peek()
        if tok is not None:
            after = {"(": "a call", "[": "a subscript"}.get(tok[1]) if tok[0] == "op" else None
            if after:
                raise self.error(f"{after} ({tok[1]!r}) is not allowed: cond= is not Python")
            raise self.error(f"unexpected {tok[1]!r}")
        return node

    def or_expr(self) -> tuple:
        items = [self.and_expr()]
        while self.accept("or"):
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else ("or", items)

    def and_expr(self) -> tuple:
        items = [self.not_expr()]
        while self.accept("and"):
            items.append(self.not_expr())
        return items[0] if len(items) == 1 else ("and", items)

    def not_expr(self) -> tuple:
        if self.accept("not"):
            self.enter()
            node = ("not", self.not_expr())
            self.depth -= 1
            return node
        return self.comparison()

    def compare_op(self) -> str | None:
        """The comparison operator at the current token (consumed), or None."""
        tok = self.peek()
        if tok is None:
            return None
        kind, value, _col = tok
        if kind == "op" and value in _COMPARE:
            self.pos += 1
            return value
        if kind != "name" or value not in ("is", "in", "not"):
            return None
        nxt = self.tokens[self.pos + 1] if self.pos + 1 < len(self.tokens) else None
        if value == "not":
            if nxt is None or nxt[:2] != ("name", "in"):
                return None  # a bare 'not' here is a syntax error, reported by the caller
            self.pos += 2
            return "not in"
        if value == "is" and nxt is not None and nxt[:2] == ("name", "not"):
            self.pos += 2
            return "is not"
        self.pos += 1
        return value

    def comparison(self) -> tuple:
        first = self.primary()
        rest = []
        while True:
            op = self.compare_op()
            if op is None:
                break
            rest.append((op, self.primary()))
        return ("cmp", first, rest) if rest else first

    def sequence(self, close: str, first: tuple | None) -> tuple:
        """The items of a tuple or list literal up to ``close`` (already past the opener)."""
        items = [] if first is None else [first]
        while not self.accept(close):
            if items and not self.accept(","):
                raise self.error(f"expected ',' or {close!r}")
            if self.accept(close):
                break
            items.append(self.or_expr())
        return ("seq", items)

    def enter(self) -> None:
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise self.error("expression nested too deeply")

    def primary(self) -> tuple:
        tok = self.peek()
        if tok is None:
            raise self.error("expression ends too early")
        kind, value, _col = tok
        if kind == "op" and value in ("(", "["):
            self.pos += 1
            self.enter()
            if value == "[":
                node = self.sequence("]", None)
            elif self.accept(")"):
                node = ("seq", [])
            else:
                node = self.or_expr()
                tok = self.peek()
                if tok is not None and tok[:2] == ("op", ","):
                    node = self.sequence(")", node)
                elif not self.accept(")"):
                    raise self.error("missing ')'")
            self.depth -= 1
            return node
        if kind == "num":
            self.pos += 1
            return ("const", coerce(value))
        if kind == "str":
            self.pos += 1
            return ("const", _unquote(value))
        if kind == "name" and value not in _KEYWORDS:
            self.pos += 1
            if value in _CONSTANTS:
                return ("const", _CONSTANTS[value])
            return ("name", value)
        raise self.error(f"unexpected {value!r}")


def _names(node: tuple, out: set[str]) -> None:
    kind = node[0]
    if kind == "name":
        out.add(node[1])
    elif kind == "not":
        _names(node[1], out)
    elif kind in ("and", "or", "seq"):
        for item in node[1]:
            _names(item, out)
    elif kind == "cmp":
        _names(node[1], out)
        for _op, operand in node[2]:
            _names(operand, out)


def _eval(node: tuple, attrs: Mapping[str, str]) -> Any:
    kind = node[0]
    if kind == "const":
        return node[1]
    if kind == "name":
        return coerce(lookup(attrs, node[1]))
    if kind == "not":
        return not _eval(node[1], attrs)
    if kind == "seq":
        return tuple(_eval(item, attrs) for item in node[1])
    if kind == "and":
        value: Any = True
        for item in node[1]:
            value = _eval(item, attrs)
            if not value:
                return value
        return value
    if kind == "or":
        value = False
        for item in node[1]:
            value = _eval(item, attrs)
            if value:
                return value
        return value
    # chained comparison, Python style: a < b < c means a < b and b < c
    left = _eval(node[1], attrs)
    for op, operand in node[2]:
        right = _eval(operand, attrs)
        try:
            ok = _COMPARE[op](left, right)
        except TypeError:
            ok = False
        if not ok:
            return False
        left = right
    return True


class Expression:
    """A parsed ``cond=`` expression."""

    __slots__ = ("text", "_ast", "names")

    def __init__(self, text: str):
        self.text = text
        self._ast = _Parser(text).parse()
        found: set[str] = set()
        _names(self._ast, found)
        self.names: frozenset[str] = frozenset(found)

    def evaluate(self, attrs: Mapping[str, str]) -> bool:
        return bool(_eval(self._ast, attrs))


def _split_list(text: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in text.split(",") if p.strip())


class Condition:
    """The AND of an element's arch/os/release lists and its cond expression.

    Raises :class:`CondSyntaxError` (with ``attribute`` set) for a malformed ``cond``.
    """

    __slots__ = ("lists", "expr", "names")

    def __init__(self, arch: str | None = None, os: str | None = None,
                 release: str | None = None, cond: str | None = None):
        self.lists: tuple[tuple[str, tuple[str, ...]], ...] = tuple(
            (attr, _split_list(value))
            for attr, value in (("arch", arch), ("os", os), ("release", release))
            if value is not None and value.strip()
        )
        self.expr = Expression(cond) if cond is not None and cond.strip() else None
        names = {attr for attr, _ in self.lists}
        if self.expr is not None:
            names |= self.expr.names
        self.names: frozenset[str] = frozenset(names)

    def evaluate(self, attrs: Mapping[str, str]) -> bool:
        for attr, allowed in self.lists:
            if lookup(attrs, attr) not in allowed:
                return False
        return self.expr is None or self.expr.evaluate(attrs)

    def __bool__(self) -> bool:  # an empty condition is "always true" and can be dropped
        return bool(self.lists) or self.expr is not None


def all_true(conditions: Iterable[Condition | None], attrs: Mapping[str, str]) -> bool:
    return all(c is None or c.evaluate(attrs) for c in conditions)
