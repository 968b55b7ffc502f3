"""``rocks-dist dist [arch=...]``: the Rocks 5.0 name of ``rocks create distro``."""

from __future__ import annotations

import sys

USAGE = ("usage: rocks-dist dist [arch=ARCH] [--debug]\n\n"
         "Same as 'rocks create distro': validate every host's kickstart and rebuild the distribution tree.\n")


def main(argv: list[str] | None = None) -> None:
    from ksserver.cli import USAGE_ERROR, run

    words = sys.argv[1:] if argv is None else argv
    if words and words[0] in ("-h", "--help", "help"):
        sys.stdout.write(USAGE)
        sys.exit(0)
    if not words:
        sys.stderr.write(USAGE)
        sys.exit(USAGE_ERROR)
    if words[0] != "dist":
        sys.stderr.write(f"error: unknown rocks-dist command {words[0]!r} (only 'dist' exists)\n")
        sys.exit(USAGE_ERROR)
    sys.exit(run(["create", "distro", *words[1:]]))
