"""The copy digest must not depend on how a stream splits data and holes."""

from __future__ import annotations

import random

from xenvm.storage import BLOCK, Digest


def _digest(parts):
    d = Digest()
    for p in parts:
        d.hole(p) if isinstance(p, int) else d.data(p)
    return d.hexdigest()


def test_holes_equal_zeros_and_chunking_does_not_matter():
    rng = random.Random(7)
    blob = bytearray(5 * BLOCK + 123)
    blob[BLOCK + 10 : BLOCK + 5000] = rng.randbytes(4990)
    blob[-50:] = b"x" * 50
    plain = _digest([bytes(blob)])
    # same content as small chunks
    assert _digest([bytes(blob[i : i + 7777]) for i in range(0, len(blob), 7777)]) == plain
    # zero runs sent as holes, with odd boundaries
    parts = [BLOCK + 10, bytes(blob[BLOCK + 10 : BLOCK + 5000]), len(blob) - 50 - (BLOCK + 5000), b"x" * 50]
    assert _digest(parts) == plain
    assert plain.startswith(f"{len(blob)}:")


def test_digest_sees_changes_position_and_length():
    base = _digest([bytes(BLOCK), b"abc"])
    assert _digest([bytes(BLOCK), b"abd"]) != base
    assert _digest([b"abc", bytes(BLOCK)]) != base  # same bytes, other block
    assert _digest([bytes(BLOCK), b"abc", 1]) != base  # one trailing zero byte more
    assert _digest([3 * BLOCK]) == _digest([bytes(3 * BLOCK)])
