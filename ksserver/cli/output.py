"""Printers for list/report verbs: Rocks-style aligned tables, or JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TextIO

from ksserver.errors import InvalidArgument


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Upper-case headers, first column suffixed with ':' as Rocks printed it, single-space gaps."""
    cells = [[("" if v is None else str(v)) for v in row] for row in rows]
    for row in cells:
        if row:
            row[0] = row[0] + ":"
    heads = [h.upper() for h in headers]
    widths = [max([len(heads[i])] + [len(r[i]) for r in cells]) for i in range(len(heads))]
    lines = []
    for row in [heads] + cells:
        line = " ".join(cell.ljust(widths[i]) for i, cell in enumerate(row))
        lines.append(line.rstrip())
    return "\n".join(lines) + "\n"


def emit(out: TextIO, fmt: str | None, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    fmt = (fmt or "table").lower()
    if fmt == "json":
        keys = [h.lower() for h in headers]
        json.dump([dict(zip(keys, row)) for row in rows], out, indent=2, default=str)
        out.write("\n")
    elif fmt == "table":
        if rows:
            out.write(table(headers, rows))
    else:
        raise InvalidArgument(f"output-format must be table or json, not {fmt!r}")
