"""KickstartCompiler: cached templates, rendered per host.

Compile once, render per host: the traversal and the lowered node files depend only on the
values of the attributes that conditions read (``GraphLibrary.cond_names``), so templates
are cached under (library fingerprint, graph, root, those values, evals, ks_version) in a
bounded LRU.  A template is validated by pykickstart when it is built; renders reuse it
(see render.py for when a render is validated again).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping

from .assemble import build_template, reconfigure_text, traversal
from .attrs import ALIASES, COMPUTED, lookup
from .evals import DEFAULT_EVAL_USER, run_eval
from .library import GraphLibrary, NodeFile
from .profile import graph_dot, profile_xml
from .render import Template, UndefinedAttribute, picker, undefined
from .traverse import merge, reach

DEFAULT_KS_VERSION = "RHEL9"
DEFAULT_GRAPH = "default"


class KickstartCompiler:
    """Turns (root node, host attributes) into validated kickstart text.

    ``evals``: run ``<eval>`` scripts (else each becomes a comment saying it was skipped);
    ``eval_timeout``: seconds per eval; ``eval_user``: who evals run as when we are root;
    ``ks_version``: pykickstart version used when the
    host has no ``ks_version`` attribute; ``cache_size``: templates kept (LRU).
    Thread-safe; bound to one library (build a new compiler when the library is reloaded).
    """

    def __init__(self, library: GraphLibrary, evals: bool = True, eval_timeout: float = 10.0,
                 ks_version: str = DEFAULT_KS_VERSION, cache_size: int = 256,
                 eval_user: str = DEFAULT_EVAL_USER):
        self.library = library
        self.evals = evals
        self.eval_timeout = eval_timeout
        self.eval_user = eval_user
        self.ks_version = ks_version
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple, Template] = OrderedDict()
        self._last: Template | None = None  # the most recently used template: already at the cache's end
        # The conditions' attributes that an alias or a computation may supply when missing under their own
        # name; the others (often ones most hosts lack, like xen) are simply undefined, with no second lookup.
        self._aliased_conds = picker([i for i, name in enumerate(library.cond_names)
                                      if name in ALIASES or name in COMPUTED])
        self._lock = threading.Lock()

    # -- helpers ------------------------------------------------------------------------------
    def _run_eval(self, shell: str, script: str, env: Mapping[str, str], path: str, line: int) -> str:
        return run_eval(shell, script, env, self.eval_timeout, path, line, self.eval_user)

    def _graph(self, attrs: Mapping[str, str]) -> str:
        return attrs.get("graph") or DEFAULT_GRAPH

    def _version(self, attrs: Mapping[str, str]) -> str:
        return attrs.get("ks_version") or self.ks_version

    def cache_key(self, root: str, attrs: Mapping[str, str]) -> tuple:
        lib = self.library
        names = lib.cond_names
        values = tuple(map(attrs.get, names))  # (per request: the plain lookup first, aliases only for what it misses)
        if None in values and None in self._aliased_conds(values):
            values = tuple(v if v is not None else lookup(attrs, n) for v, n in zip(values, names))
        return (lib.fingerprint, self._graph(attrs), root, values, self.evals, self._version(attrs))

    def cache_info(self) -> dict[str, int]:
        return {"templates": len(self._cache), "max": self.cache_size}

    # -- public API ---------------------------------------------------------------------------
    def kickstart(self, root: str, attrs: Mapping[str, str],
                  env: Mapping[str, str] | None = None) -> str:
        """The host's kickstart, validated by pykickstart; GraphError/KickstartInvalid if not."""
        return self.kickstart_with_headers(root, attrs, env)[0]

    def kickstart_with_headers(self, root: str, attrs: Mapping[str, str],
                               env: Mapping[str, str] | None = None) -> tuple[str, list[str] | None]:
        """``kickstart`` and its section headers when the template knows them without a scan (else None):
        the server's per-request structure check (``ksserver.partition_kickstart``) then skips its scan."""
        key = self.cache_key(root, attrs)
        runner = self._run_eval if self.evals else None
        with self._lock:
            tpl = self._cache.get(key)
            if tpl is not None and tpl is not self._last:  # (a storm renders one template after another)
                self._cache.move_to_end(key)
                self._last = tpl
        if tpl is not None:
            return tpl.render_with_headers(attrs, env, runner)
        tpl = build_template(self.library, key[1], root, attrs, self.evals, key[5])
        text = tpl.first_render(attrs, env, runner)  # raises before anything is cached
        with self._lock:
            self._cache[key] = tpl
            self._last = tpl
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return text, None

    def cached_template(self, key: tuple) -> Template | None:
        """The compiled template under ``key`` (``cache_key``), if it is cached: ``graph.batch``."""
        with self._lock:
            return self._cache.get(key)

    def undefined_attributes(self, root: str, attrs: Mapping[str, str]) -> list[UndefinedAttribute]:
        """Every ``&name;`` of ``root``'s kickstart that ``attrs`` lacks (none: ``[]``).

        Compiles (traversal and conditions) but neither renders nor validates nor runs evals;
        other problems (a bad root, an edge to an absent node) raise GraphError as usual.
        """
        key = self.cache_key(root, attrs)
        with self._lock:
            tpl = self._cache.get(key)
        if tpl is None:
            tpl = build_template(self.library, key[1], root, attrs, self.evals, key[5])
        return undefined(tpl.slots, attrs)

    def reconfigure_scripts(self, root: str, attrs: Mapping[str, str],
                            env: Mapping[str, str] | None = None) -> str:
        """The scripts of the reconfigure phase (``phase="reconfigure"``) as one bash script.

        What Rocks 6.2's ``rocks run reconfigure`` ran on the host; the kickstart never holds
        them unless their phase= also names an install phase (``phase="post,reconfigure"``).
        """
        return reconfigure_text(self.library, self._graph(attrs), root, attrs, self.evals,
                                self._run_eval if self.evals else None, env)

    def traversal(self, root: str, attrs: Mapping[str, str]) -> list[NodeFile]:
        """Node files in kickstart order (``NodeFile.describe()`` gives the comment line)."""
        return traversal(self.library, self._graph(attrs), root, attrs)

    def profile_xml(self, root: str, attrs: Mapping[str, str],
                    env: Mapping[str, str] | None = None) -> str:
        """The traversal-annotated monolithic XML (Rocks' ``rocks list host xml``)."""
        files = self.traversal(root, attrs)
        return profile_xml(files, attrs, root, self._graph(attrs), self._version(attrs), env,
                           self._run_eval if self.evals else None)

    def graph_dot(self, root: str, attrs: Mapping[str, str]) -> str:
        """Graphviz dot of the nodes reached from ``root`` and the edges followed."""
        graph = self._graph(attrs)
        self.traversal(root, attrs)  # same errors as kickstart() for a bad root
        definition = self.library.graph(graph).definition
        reached, edges = reach(root, definition.edges, attrs)
        order = merge(self.library.graph(graph).order, reached)
        files = {name: self.library.node_files(name) for name in order}
        return graph_dot(graph, root, order, edges, files)

    def graph_name(self, attrs: Mapping[str, str]) -> str:
        """The graph a traversal with ``attrs`` follows (attribute ``graph``, else default)."""
        return self._graph(attrs)


def undefined_report(compiler: KickstartCompiler,
                     hosts: Iterable[tuple[str, str, Mapping[str, str]]]) -> list[str]:
    """All undefined attributes of a build, once each: for ``rocks-dist dist``.

    ``hosts`` yields (host name, root node, attrs).  Lines are
    ``path:line: undefined entity &X; (hosts without attribute 'X': a, b)``, sorted.
    """
    found: dict[tuple[str, int, str], list[str]] = {}
    for host, root, attrs in hosts:
        for missing in compiler.undefined_attributes(root, attrs):
            found.setdefault((missing.path, missing.line, missing.name), []).append(host)
    return [f"{path}:{line}: undefined entity &{name}; (hosts without attribute {name!r}: "
            f"{', '.join(names)})" for (path, line, name), names in sorted(found.items())]
