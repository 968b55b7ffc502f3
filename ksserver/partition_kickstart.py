"""The installer plugin's sections in a host's kickstart (docs/partitioning.md), added per request.

In kickstart order: the bootstrap %pre (fetch the plugin bundle ``rocks-dist dist`` published; make
``/opt/rocks/bin/python`` and ``import rocks_partition`` work), the host's recorded partitions
(``DbInfo`` JSON), the graph's %pre scripts (the site's partitioning programs among them), the decision
(``do-partition.xml``, here given the server and the host's install token), the graph's
``%include /tmp/partition-info``, and a ``%post --nochroot`` that reports the final layout.
Every value is a JSON literal inside a line of fixed text, so no value can start a line (and so end or open
a section). pykickstart validates the result once per kickstart structure (ks_version and the sequence of
section headers): per request that would cost tens of milliseconds, and the values cannot change the
structure, which ``_check_lines`` verifies on every call."""

from __future__ import annotations

import functools
import re
import threading

from installer_plugin import kickstart as sections
from installer_plugin.bundle import BUNDLE_NAME
from ksserver.errors import KickstartInvalid
from ksserver.graph import validate

DECIDE_PLACEHOLDER = 'sys.exit(main(["pre-decide"]))'
_FIRST_PRE = re.compile(r"^%pre\b", re.MULTILINE)
_FIRST_POST = re.compile(r"^%post\b", re.MULTILINE)
_validated: set[tuple[str, ...]] = set()  # (ks_version, header lines...) of each structure pykickstart passed
_validated_lock = threading.Lock()
MAX_VALIDATED = 4096  # distinct structures remembered
_SERVER = re.compile(r"^https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?$|^https?://\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$")


def bundle_url(server_url: str, arch: str) -> str:
    """Where ``rocks-dist dist`` publishes the bundle: inside the published tree of the arch."""
    return f"{server_url}/install/rocks-dist/{arch}/{BUNDLE_NAME}"


@functools.lru_cache(maxsize=256)  # a storm's installers name the server the same few ways
def server_url(scheme: str, host_header: str | None, fallback_host: str) -> str:
    """The address the installer used to reach us (its Host header), else the frontend's private name."""
    for candidate in (f"{scheme}://{host_header}" if host_header else "", f"http://{fallback_host}"):
        if candidate and _SERVER.match(candidate):
            return candidate
    return ""


def add_partitioning(text: str, server: str, arch: str, db_info_json: str, token: str | None,
                     ks_version: str, headers: tuple[str, ...] | None = None) -> str:
    """``text`` (a rendered kickstart) with the plugin's sections; KickstartInvalid if pykickstart refuses.
    ``headers``: the section headers of ``text`` when the renderer knows them (``Template.render_with_headers``),
    so the structure key needs no scan of the result; None: it is scanned."""
    head, decide, call, post, added = _sections(server, arch, db_info_json, token)
    first = line_starting(text, "%pre")
    placeholder = text.find(DECIDE_PLACEHOLDER)
    tail = text[placeholder + len(DECIDE_PLACEHOLDER):].rstrip("\n") if placeholder >= first >= 0 else ""
    if tail and DECIDE_PLACEHOLDER not in tail and DECIDE_PLACEHOLDER not in head:
        # The stock case in one join: head before the first %pre, the decision's call in its placeholder.
        text = "".join([text[:first], head, text[first:placeholder], call, tail, "\n\n", post])
        key = _structure_key(ks_version, headers, added) if headers is not None else None
    else:
        text, key = _assemble(text, first, head, decide, call, post), None
    if key is None:
        key = (ks_version, *section_headers(text))
    if key not in _validated:
        try:
            validate.check(text, ks_version)
        except validate.KickstartProblem as exc:
            raise KickstartInvalid(f"the kickstart with the partitioning sections is invalid: {exc.message}") \
                from None
        with _validated_lock:
            if len(_validated) >= MAX_VALIDATED:
                _validated.clear()
            _validated.add(key)
    return text


def _assemble(text: str, first: int, head: str, decide: str, call: str, post: str) -> str:
    """The general case of ``add_partitioning``: no %pre, or the placeholder is not there exactly once."""
    if first < 0:
        post_at = line_starting(text, "%post")
        first = post_at if post_at >= 0 else len(text)
    text = text[:first] + head + text[first:]
    if text.count(DECIDE_PLACEHOLDER) == 1:
        text = text.replace(DECIDE_PLACEHOLDER, call)
    else:  # a site replaced do-partition: the decision still runs, after every %pre of the graph
        post_at = line_starting(text, "%post")
        at = post_at if post_at >= 0 else len(text)
        text = text[:at] + decide + "\n" + text[at:]
    return text.rstrip("\n") + "\n\n" + post


def line_starting(text: str, word: str) -> int:
    """Where the first line that starts with ``word`` (then a non-word character or the end) begins, or -1:
    ``re.search(r"^word\\b", text, re.M)`` with str.find, which skips to candidates instead of trying every
    position (per request, on the whole kickstart)."""
    needle = "\n" + word
    at = 0 if text.startswith(word) else text.find(needle) + 1 or -1
    while at >= 0:
        end = at + len(word)
        if end == len(text) or not (text[end].isalnum() or text[end] == "_"):
            return at
        at = text.find(needle, end) + 1 or -1
    return -1


@functools.lru_cache(maxsize=1024)
def _structure_key(ks_version: str, headers: tuple[str, ...],
                   added: tuple[tuple[str, ...], tuple[str, ...]]) -> tuple[str, ...] | None:
    """(ks_version, the section headers of the result), from the rendered text's ``headers``; None: scan
    the result.  A pure function of its arguments, kept per value set: hosts of a template share them."""
    structure = _known_structure(headers, added)
    return (ks_version, *structure) if structure else None


def _known_structure(headers: tuple[str, ...] | None,
                     added: tuple[tuple[str, ...], tuple[str, ...]]) -> list[str] | None:
    """The headers ``section_headers`` would find in the result, from the rendered text's ``headers``: the head's
    before the first %pre, the post's at the end (the decision replaced its placeholder in place)."""
    if headers is None or any(DECIDE_PLACEHOLDER in line for line in headers):
        return None  # (the placeholder's own line would change: let the scan see it)
    for i, line in enumerate(headers):
        if _FIRST_PRE.match(line):
            head, post = added
            return [*headers[:i], *head, *headers[i:], *post]
    return None


def section_headers(text: str) -> list[str]:
    """The lines of ``text`` that start with %: found with str.find, a third of a regex's time on a kickstart
    (this runs per request)."""
    find = text.find
    out = []
    i = 0 if text[:1] == "%" else find("\n%")
    while i >= 0:
        start = i + 1 if text[i] == "\n" else i
        end = find("\n", start)
        if end < 0:
            out.append(text[start:])
            break
        out.append(text[start:end])
        i = find("\n%", end)
    return out


@functools.lru_cache(maxsize=1024)
def _sections(server: str, arch: str, db_info_json: str,
              token: str | None) -> tuple[str, str, str, str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """(head, decide, its call line, post, the section headers of head and of post): checked once per distinct
    value set.  Hosts of a storm share
    a server and mostly a layout, so a kickstart costs no section building (a third of its time)."""
    head = sections.bootstrap_pre(bundle_url(server, arch)) + "\n" + sections.db_info_pre(db_info_json) + "\n"
    decide = sections.decide_pre(server, token)
    call = next(line for line in decide.splitlines() if line.startswith("sys.exit(main("))
    post = sections.report_post(server, token)
    _check_lines(head + decide + post)  # raises: nothing is cached
    return head, decide, call, post, (tuple(section_headers(head)), tuple(section_headers(post)))


def _check_lines(added: str) -> None:
    """Only our own section headers start with % in what we add (values are JSON inside fixed lines)."""
    for line in added.splitlines():
        if line.startswith("%") and not line.startswith(("%pre", "%post", "%end")):
            raise KickstartInvalid(f"refusing a partitioning section line {line[:60]!r}")
    if added.count("\n%end\n") + added.startswith("%end\n") != len(re.findall(r"^%(pre|post)\b", added, re.MULTILINE)):
        raise KickstartInvalid("a value would change the partitioning sections of the kickstart")
