"""Parse /tmp/user_partition_info: Rocks scheme lines (``rocks force-default`` ...) and the kickstart
partitioning directives (clearpart, part, raid, volgroup, logvol, plus the few harmless companions).

Every line is kept; a line that cannot be understood is an error naming file, line and column, never
silently dropped. Python 3.9 stdlib only (runs in the installer)."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from rocks_partition.records import PartitionError, disk_of

SCHEMES = ("force-default", "force-default-root-disk-only", "manual")
MAX_TEXT = 1 << 20
MAX_MOUNTPOINT = 15  # Rocks' documented limit for user mountpoints

# option name -> takes a value; aliases map to the canonical name
_OPTIONS: dict[str, dict[str, bool]] = {
    "clearpart": {"all": False, "linux": False, "none": False, "list": True, "drives": True,
                  "initlabel": False, "disklabel": True, "cdl": False},
    "part": {"size": True, "grow": False, "maxsize": True, "fstype": True, "ondisk": True, "onpart": True,
             "noformat": False, "asprimary": False, "label": True, "fsoptions": True, "recommended": False,
             "encrypted": False, "passphrase": True, "mkfsoptions": True, "resize": False,
             "hibernation": False},
    "raid": {"level": True, "device": True, "fstype": True, "noformat": False, "useexisting": False,
             "spares": True, "label": True, "fsoptions": True, "encrypted": False, "chunksize": True},
    "volgroup": {"noformat": False, "useexisting": False, "pesize": True, "reserved-space": True,
                 "reserved-percent": True},
    "logvol": {"vgname": True, "name": True, "size": True, "grow": False, "maxsize": True, "fstype": True,
               "noformat": False, "useexisting": False, "percent": True, "recommended": False,
               "label": True, "fsoptions": True, "encrypted": False},
    "zerombr": {},
    "ignoredisk": {"drives": True, "only-use": True},
    "reqpart": {"add-boot": False},
}
_ALIASES = {"partition": "part", "ondrive": "ondisk", "usepart": "onpart", "useexisting": "useexisting"}


class DirectiveError(PartitionError):
    """A line of user partition info that is not a directive this installer understands."""

    def __init__(self, source: str, line: int, column: int, message: str) -> None:
        super().__init__("%s line %d column %d: %s" % (source, line, column, message))
        self.source, self.line, self.column = source, line, column


@dataclass(frozen=True)
class Directive:
    kind: str  # clearpart, part, raid, volgroup, logvol, zerombr, ignoredisk, reqpart
    args: tuple[str, ...]  # positional: mountpoint (part/raid/logvol), name + members (volgroup), members
    options: tuple[tuple[str, str], ...]  # (name, value); value "" for flags
    line: int
    text: str  # the line as written, emitted verbatim when the directives are used

    def opt(self, name: str, default: str | None = None) -> str | None:
        for key, value in self.options:
            if key == name:
                return value
        return default

    def has(self, name: str) -> bool:
        return any(key == name for key, _ in self.options)

    @property
    def mountpoint(self) -> str:
        return self.args[0] if self.kind in ("part", "raid", "logvol") and self.args else ""

    def disks(self) -> list[str]:
        """Disks this directive names explicitly (clearpart --drives, --ondisk, --onpart's disk)."""
        names = []
        for key in ("drives", "ondisk", "only-use"):
            value = self.opt(key)
            if value:
                names.extend(v for v in value.split(",") if v)
        onpart = self.opt("onpart")
        if onpart:
            names.append(disk_of(onpart))
        return names


@dataclass
class UserInfo:
    scheme: str = ""  # one of SCHEMES, or "" for literal directives (or nothing at all)
    directives: list[Directive] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.scheme and not self.directives


def parse_user_info(text: str, source: str = "/tmp/user_partition_info") -> UserInfo:
    """Rocks' rule: any line of exactly two tokens starting with ``rocks`` names the scheme."""
    if len(text) > MAX_TEXT:
        raise DirectiveError(source, 1, 1, "file is larger than %d bytes" % MAX_TEXT)
    info = UserInfo()
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        column = len(raw) - len(raw.lstrip()) + 1
        try:
            words = shlex.split(line, comments=True)
        except ValueError as exc:
            raise DirectiveError(source, number, column, str(exc)) from None
        if not words:
            continue
        if words[0] == "rocks":
            if len(words) != 2 or words[1] not in SCHEMES:
                raise DirectiveError(source, number, column,
                                     "unknown scheme %r (use rocks %s)" % (line, " | rocks ".join(SCHEMES)))
            if info.scheme and info.scheme != words[1]:
                raise DirectiveError(source, number, column, "second, different scheme %r" % words[1])
            info.scheme = words[1]
            continue
        info.directives.append(_directive(words, number, column, raw.rstrip("\n"), source))
    return info


def _directive(words: list[str], number: int, column: int, text: str, source: str) -> Directive:
    kind = _ALIASES.get(words[0], words[0])
    if kind not in _OPTIONS:
        raise DirectiveError(source, number, column, "unknown partitioning directive %r" % words[0])
    known = _OPTIONS[kind]
    args: list[str] = []
    options: list[tuple[str, str]] = []
    i = 1
    while i < len(words):
        word = words[i]
        col = column + text.strip().find(word) if word in text else column
        if word.startswith("--"):
            name, eq, value = word[2:].partition("=")
            name = _ALIASES.get(name, name)
            if name not in known:
                raise DirectiveError(source, number, col, "%s: unknown option --%s" % (kind, name))
            if known[name] and not eq:
                if i + 1 >= len(words):
                    raise DirectiveError(source, number, col, "%s: --%s needs a value" % (kind, name))
                i += 1
                value = words[i]
            elif not known[name] and eq:
                raise DirectiveError(source, number, col, "%s: --%s takes no value" % (kind, name))
            options.append((name, value))
        else:
            args.append(word)
        i += 1
    directive = Directive(kind=kind, args=tuple(args), options=tuple(options), line=number, text=text)
    _check(directive, source, column)
    return directive


def _check(d: Directive, source: str, column: int) -> None:
    def fail(message: str) -> DirectiveError:
        return DirectiveError(source, d.line, column, "%s: %s" % (d.kind, message))

    if d.kind in ("part", "raid", "logvol"):
        if not d.args:
            raise fail("a mountpoint is required")
        mnt = d.args[0]
        if not (mnt.startswith("/") or mnt in ("swap", "biosboot", "None", "none")
                or mnt.startswith(("raid.", "pv."))):
            raise fail("invalid mountpoint %r" % mnt)
        if mnt.startswith("/") and len(mnt) > MAX_MOUNTPOINT:
            raise fail("mountpoint %r is longer than %d characters" % (mnt, MAX_MOUNTPOINT))
    if d.kind == "part" and len(d.args) != 1:
        raise fail("exactly one mountpoint expected, got %s" % " ".join(d.args))
    for key in ("size", "maxsize"):
        value = d.opt(key)
        if value is not None and not value.isdigit():
            raise fail("--%s must be a whole number of MiB, got %r" % (key, value))
    if d.kind == "raid" and not d.has("useexisting") and not d.opt("device"):
        raise fail("--device is required")
