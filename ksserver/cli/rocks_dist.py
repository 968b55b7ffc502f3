"""``rocks-dist dist [arch=...]``: the Rocks 5.0 name of ``rocks create distro``."""

from __future__ import annotations

import sys

from ksserver.cli import run


def main() -> None:
    argv = sys.argv[1:]
    if not argv or argv[0] in ("-h", "--help", "help"):
        print("usage: rocks-dist dist [arch=ARCH] [--debug]\n\n"
              "Same as 'rocks create distro': validate every host's kickstart and rebuild the distribution tree.")
        sys.exit(0)
    if argv[0] != "dist":
        sys.exit(f"error: unknown rocks-dist command {argv[0]!r} (only 'dist' exists)")
    sys.exit(run(["create", "distro", *argv[1:]]))
