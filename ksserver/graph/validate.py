"""pykickstart validation of generated kickstarts, like ``ksvalidator`` does it.

``makeVersion`` costs ~15 ms, so each version's handler is built once and reused.  A handler
accumulates what it parses (scripts, partitions, network devices; a second parse would warn
"already defined"), so after every parse the commands that were used are replaced by fresh
instances and the section lists are emptied.  Parse warnings and deprecation warnings are
errors, as in ksvalidator; ``%include`` is not followed.

Validations are serialised by one lock: the handlers are shared, and ``warnings``'
catch_warnings swaps process-wide state.  That is cheap because validation runs once per
template (and per render only for renders that need it, see render.py).
"""

from __future__ import annotations

import re
import threading
import warnings

from ..errors import GraphError

# pykickstart is imported inside the functions: it pulls in requests and every handler
# (~0.1 s), which `import ksserver.graph` (e.g. each `rocks` command) should not pay for.

_LINE = re.compile(r"\bline (\d+)")


class KickstartProblem(Exception):
    """pykickstart's complaint about generated text; ``lineno`` is 1-based or None."""

    def __init__(self, message: str, lineno: int | None):
        super().__init__(message)
        self.message = message
        self.lineno = lineno


class _Checker:
    def __init__(self, version: str):
        from pykickstart.version import makeVersion, stringToVersion

        self.version = version
        self.handler = makeVersion(stringToVersion(version))
        self._caught: list[warnings.WarningMessage] = []
        self._warning_lines: dict[int, int] = {}
        # Warnings carry no line number: note the line of the command that raised each one.
        dispatch = self.handler.dispatcher

        def dispatcher(args: list[str], lineno: int) -> object:
            before = len(self._caught)
            try:
                return dispatch(args, lineno)
            finally:
                for w in self._caught[before:]:
                    self._warning_lines.setdefault(id(w), lineno)

        self.handler.dispatcher = dispatcher  # type: ignore[method-assign]

    def _reset(self) -> None:
        from pykickstart.parser import Packages

        h = self.handler
        fresh: dict[int, object] = {}
        for name, cmd in list(h.commands.items()):
            if cmd is None or not getattr(cmd, "seen", False):
                continue
            new = fresh.get(id(cmd))
            if new is None:
                new = cmd.__class__()
                fresh[id(cmd)] = new
                h._setCommand(new)  # also swaps it into the handler's attributes and write order
            new.handler = h  # type: ignore[attr-defined]
            h.commands[name] = new
        h.scripts = []
        h.packages = Packages()
        h.certificates = []
        h._null_section_strings = []

    def check(self, text: str) -> None:
        from pykickstart.errors import (KickstartDeprecationWarning, KickstartError,
                                        KickstartParseWarning)
        from pykickstart.parser import KickstartParser

        with _parse_lock:
            parser = KickstartParser(self.handler, followIncludes=False, errorsAreFatal=True,
                                     missingIncludeIsFatal=False)
            try:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    self._caught, self._warning_lines = caught, {}
                    try:
                        parser.readKickstartFromString(text)
                    except KickstartError as e:
                        raise KickstartProblem(_message(e), getattr(e, "lineno", None)) from None
                for w in caught:
                    if issubclass(w.category, (KickstartParseWarning, KickstartDeprecationWarning)):
                        message = " ".join(str(w.message).split())
                        m = _LINE.search(message)
                        lineno = int(m.group(1)) if m else self._warning_lines.get(id(w))
                        raise KickstartProblem(message, lineno)
            finally:
                self._caught, self._warning_lines = [], {}
                self._reset()


def _message(e: Exception) -> str:
    text = getattr(e, "message", None) or str(e)
    return " ".join(str(text).split())


# One checker per version, built on first use and kept: a cache, not configuration.
_checkers: dict[str, _Checker] = {}
_checkers_lock = threading.Lock()
_parse_lock = threading.Lock()


def checker(version: str) -> _Checker:
    """The shared checker for a pykickstart version name such as ``RHEL9``."""
    found = _checkers.get(version)
    if found is not None:
        return found
    with _checkers_lock:
        found = _checkers.get(version)
        if found is None:
            try:
                found = _Checker(version)
            except Exception as e:  # KickstartVersionError and friends
                raise GraphError(f"unknown kickstart version {version!r} (ks_version): {e}") from None
            _checkers[version] = found
    return found


def check(text: str, version: str) -> None:
    """Raise :class:`KickstartProblem` if pykickstart ``version`` rejects ``text``."""
    checker(version).check(text)
