"""The column-wise printers give the very bytes of the straightforward per-cell versions they replaced."""

from __future__ import annotations

import io
import json
import random
from typing import Any

import pytest

from ksserver.cli.output import emit, json_rows, table
from ksserver.errors import InvalidArgument


def per_cell_table(headers: list[str], rows: list[Any]) -> str:
    """The printer as it was: one str() and one ljust per cell."""
    cells = [[("" if v is None else str(v)) for v in row] for row in rows]
    for row in cells:
        if row:
            row[0] = row[0] + ":"
    heads = [h.upper() for h in headers]
    widths = [max(map(len, column)) for column in zip(heads, *cells)] if cells else [len(h) for h in heads]
    padded = [[cell.ljust(width) for cell in column] for column, width in zip(zip(heads, *cells), widths)]
    return "\n".join(" ".join(line).rstrip() for line in zip(*padded)) + "\n"


def per_cell_json(keys: list[str], rows: list[Any]) -> str:
    out = io.StringIO()
    json.dump([dict(zip(keys, row)) for row in rows], out, indent=2, default=str)
    return out.getvalue() + "\n"


CELLS = ["", "a", "compute-0-0", "x" * 37, " lead", "trail ", "tab\tin", "50%", "%s", "%(x)s", 'q"uote',
         "back\\slash", "naïve", "日本", "\x01", None, 0, 7, -3, 10**12, True, False]


def _random_rows(rng: random.Random, width: int, count: int, kinds: list[Any]) -> list[tuple]:
    return [tuple(rng.choice(kinds) for _ in range(width)) for _ in range(count)]


@pytest.mark.parametrize("seed", range(40))
def test_table_and_json_match_the_per_cell_printers(seed: int) -> None:
    rng = random.Random(seed)
    width = rng.randint(1, 6)
    headers = [rng.choice(["host", "ip", "a%s", "Value", "x" * 12, "naïve"]) for _ in range(width)]
    # some columns of one kind only (the fast paths), some mixed (the general ones)
    kinds = [rng.choice([CELLS, [c for c in CELLS if isinstance(c, str)], [1, 22, 333], [None, "x"]])
             for _ in range(width)]
    rows = [tuple(rng.choice(kinds[i]) for i in range(width)) for _ in range(rng.randint(0, 30))]
    assert table(headers, rows) == per_cell_table(headers, rows)
    assert json_rows([h.lower() for h in headers], rows) == per_cell_json([h.lower() for h in headers], rows)


@pytest.mark.parametrize("headers, rows", [
    ([], []), (["a"], []), ([], [("x",)]), (["a", "b"], [()]), (["a", "b"], [("x",), ("y", "z")]),
    (["a"], [("x", "extra")]), (["a", "a"], [(1, 2)]), (["f"], [(1.5,)]), (["f"], [(float("nan"),)]),
    (["o"], [(object,)]), (["b"], [(True,), (False,)]), (["s"], [("",), ("",)]),
])
def test_edge_shapes(headers: list[str], rows: list[tuple]) -> None:
    assert table(headers, rows) == per_cell_table(headers, rows)
    assert json_rows(headers, rows) == per_cell_json(headers, rows)


def test_emit_formats() -> None:
    out = io.StringIO()
    emit(out, "table", ["H"], [])
    assert out.getvalue() == ""  # no rows: nothing, not even the header
    emit(out, "JSON", ["H", "N"], [("x", 1)])
    assert json.loads(out.getvalue()) == [{"h": "x", "n": 1}]
    with pytest.raises(InvalidArgument):
        emit(out, "yaml", ["H"], [("x",)])
