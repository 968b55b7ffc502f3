"""Graph traversal and node ordering (Rocks §1.5).

1. Framework: depth-first from the root over the edges whose conditions hold for the host,
   following edges in file order; each node is visited once, so cycles are harmless.
2. Order: the order edges (plus HEAD/TAIL virtual edges, below) are sorted topologically.
   Rocks used DFS finishing times and never noticed cycles; we use Kahn's algorithm with ties
   broken by first appearance in the graph files, and report a cycle as a GraphError.
      (a) every order node with in-degree 0 that cannot reach HEAD gets an edge HEAD -> node;
      (b) every order node with out-degree 0 not reachable from TAIL gets an edge node -> TAIL;
      and HEAD -> TAIL always (so an order putting TAIL before HEAD is a cycle).
3. Merge: walk the sorted list and keep the reached nodes; at TAIL insert every reached node
   that no order edge mentions, alphabetically.  So: HEAD side and ordered nodes, then the
   unordered ones alphabetically, then the TAIL side.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping

from ..errors import GraphError
from .graphs import HEAD, TAIL, Edge, OrderEdge


def _reach(start: str, adj: Mapping[str, Iterable[str]]) -> set[str]:
    seen = {start}
    stack = [start]
    while stack:
        for nxt in adj.get(stack.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


def order_list(orders: list[OrderEdge]) -> list[str]:
    """The topologically sorted order nodes, HEAD and TAIL included (empty if no orders)."""
    if not orders:
        return []
    index: dict[str, int] = {}
    succ: dict[str, list[str]] = {}
    pred: dict[str, list[str]] = {}
    real: dict[tuple[str, str], OrderEdge] = {}

    def add(a: str, b: str) -> None:
        for n in (a, b):
            if n not in index:
                index[n] = len(index)
                succ[n] = []
                pred[n] = []
        if b not in succ[a]:
            succ[a].append(b)
            pred[b].append(a)

    for o in orders:
        add(o.head, o.tail)
        real.setdefault((o.head, o.tail), o)
    for n in (HEAD, TAIL):
        if n not in index:
            index[n] = len(index)
            succ[n] = []
            pred[n] = []
    add(HEAD, TAIL)  # by definition; makes "TAIL before HEAD" a reportable cycle
    before_head = _reach(HEAD, pred)
    for n in list(index):
        if n != HEAD and not pred[n] and n not in before_head:
            add(HEAD, n)
    after_tail = _reach(TAIL, succ)
    for n in list(index):
        if n != TAIL and not succ[n] and n not in after_tail:
            add(n, TAIL)

    return _toposort(index, succ, pred, real)


def _toposort(index: Mapping[str, int], succ: Mapping[str, list[str]],
              pred: Mapping[str, list[str]], real: Mapping[tuple[str, str], OrderEdge]) -> list[str]:
    """Kahn's algorithm; among ready nodes the first-seen goes first."""
    indegree = {n: len(pred[n]) for n in index}
    ready = [(index[n], n) for n in index if indegree[n] == 0]
    heapq.heapify(ready)
    out: list[str] = []
    while ready:
        _, n = heapq.heappop(ready)
        out.append(n)
        for m in succ[n]:
            indegree[m] -= 1
            if indegree[m] == 0:
                heapq.heappush(ready, (index[m], m))
    if len(out) != len(index):
        _raise_cycle({n for n in index if indegree[n] > 0}, succ, real, index)
    return out


def _raise_cycle(left: set[str], succ: Mapping[str, list[str]],
                 real: Mapping[tuple[str, str], OrderEdge], index: Mapping[str, int]) -> None:
    # Every node left over by Kahn's algorithm lies on or after a cycle; walk forward inside
    # the leftovers until a node repeats, which closes a cycle.
    node = min(left, key=index.__getitem__)
    path: list[str] = []
    pos: dict[str, int] = {}
    while node not in pos:
        pos[node] = len(path)
        path.append(node)
        node = next(m for m in succ[node] if m in left)
    cycle = path[pos[node]:] + [node]
    edges = [real[(a, b)] for a, b in zip(cycle, cycle[1:]) if (a, b) in real]
    first = min(edges, key=lambda e: (str(e.path), e.line))
    raise GraphError("order cycle: " + " -> ".join(cycle), path=str(first.path), line=first.line)


def reach(root: str, edges: Iterable[Edge], attrs: Mapping[str, str]) -> tuple[list[str], list[Edge]]:
    """Nodes reached from ``root`` (in DFS discovery order) and the edges that were followed."""
    adj: dict[str, list[Edge]] = {}
    for e in edges:
        if all(c.evaluate(attrs) for c in e.conds):
            adj.setdefault(e.src, []).append(e)
    seen = {root}
    found = [root]
    used: list[Edge] = []
    stack = [iter(adj.get(root, ()))]
    while stack:
        e = next(stack[-1], None)
        if e is None:
            stack.pop()
            continue
        used.append(e)
        if e.dst not in seen:
            seen.add(e.dst)
            found.append(e.dst)
            stack.append(iter(adj.get(e.dst, ())))
    return found, used


def merge(order: list[str], reached: Iterable[str]) -> list[str]:
    """Reached nodes in kickstart order (step 3 above)."""
    reached_set = set(reached)
    ordered = set(order)
    unordered = sorted(reached_set - ordered)
    out: list[str] = []
    for n in order:
        if n == TAIL:
            out.extend(unordered)
            unordered = []
        elif n != HEAD and n in reached_set:
            out.append(n)
    out.extend(unordered)
    return out
