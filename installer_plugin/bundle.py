"""The plugin bundle: a tar.gz of ``rocks_partition`` and ``installer_plugin`` plus the Rocks-era
``/opt/rocks/bin/python`` shim, built by ``rocks-dist dist`` and fetched by the kickstart's first %pre."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

BUNDLE_NAME = "rocks-installer-plugin.tar.gz"
PACKAGES = ("rocks_partition", "installer_plugin")
SHIM_PATH = "bin/python"  # unpacked to /tmp/product/bin/python; the %pre links /opt/rocks/bin/python to it
SHIM = """#!/bin/sh
# Rocks-era interpreter name for site %pre programs: the installer's python3 with the plugin on the path.
PYTHONPATH=/tmp/product${PYTHONPATH:+:$PYTHONPATH}
export PYTHONPATH
exec python3 "$@"
"""


def _add(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), mode, 0  # reproducible: same sources, same bytes
    tar.addfile(info, io.BytesIO(data))


def build(dest_dir: Path) -> Path:
    """Write ``dest_dir/rocks-installer-plugin.tar.gz`` (sources only, sorted, mtime 0) and return it."""
    root = Path(__file__).resolve().parent.parent
    dest = Path(dest_dir) / BUNDLE_NAME
    dest.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for package in PACKAGES:
            for source in sorted((root / package).glob("*.py")):
                _add(tar, "%s/%s" % (package, source.name), source.read_bytes())
        _add(tar, SHIM_PATH, SHIM.encode(), 0o755)
    import gzip

    with open(dest, "wb") as out, gzip.GzipFile(fileobj=out, mode="wb", mtime=0, filename="") as gz:
        gz.write(buffer.getvalue())
    return dest
