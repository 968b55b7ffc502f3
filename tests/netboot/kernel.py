"""A kernel and an initramfs for network-boot tests.

The kernel is Debian's cloud kernel (fetched with ``apt-get download`` through the ordinary Debian
client, unpacked with ``dpkg-deb``, cached under ``<project>/.cache/netboot/``).  Its virtio drivers are
modules, so the initramfs carries them.  The initramfs is busybox-static plus an /init that brings up
eth0 with udhcpc, exports the kernel command line's ``name=value`` words as ``ARG_name`` (dots become
underscores), runs the test's script, and powers off.  Everything it prints goes to the serial console,
prefixed ``NETBOOT:``.
"""

from __future__ import annotations

import fcntl
import gzip
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.lifecycle.tools import need

PROJECT = Path(__file__).resolve().parents[2]
CACHE = PROJECT / ".cache" / "netboot"
VIRTIO_MODULES = ("virtio_ring", "virtio", "virtio_pci_modern_dev", "virtio_pci_legacy_dev", "virtio_pci",
                  "failover", "net_failover", "virtio_net")
META_PACKAGE = "linux-image-cloud-amd64"

INIT = r"""#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
exec >/dev/console 2>&1
echo "NETBOOT: init started"
for m in MODULES; do insmod /lib/modules/$m.ko || echo "NETBOOT: insmod $m failed"; done
ip link set lo up
ip link set eth0 up
for word in $(cat /proc/cmdline); do
    case "$word" in
        [a-z]*=*)
            name=$(echo "${word%%=*}" | tr -c 'a-zA-Z0-9_\n' '_')
            export "ARG_$name=${word#*=}" ;;
    esac
done
export MAC=$(cat /sys/class/net/eth0/address)
if udhcpc -i eth0 -s /etc/udhcpc.script -q -n -t 5 -T 2; then
    echo "NETBOOT: dhcp ok"
else
    echo "NETBOOT: dhcp failed"
fi
echo "NETBOOT: running script"
sh /script.sh
echo "NETBOOT: script exit $?"
echo "NETBOOT: poweroff"
poweroff -f
"""

UDHCPC_SCRIPT = r"""#!/bin/sh
case "$1" in
    bound|renew)
        ip addr flush dev "$interface"
        ip addr add "$ip/${mask:-24}" dev "$interface"
        if [ -n "$router" ]; then ip route add default via "${router%% *}" dev "$interface"; fi
        echo "NETBOOT: lease ip=$ip mask=$mask router=$router siaddr=$siaddr boot_file=$boot_file"
        ;;
esac
exit 0
"""


@dataclass(frozen=True)
class KernelKit:
    vmlinuz: Path
    modules: tuple[Path, ...]
    version: str


def _resolve_kernel_package() -> str:
    # The package name carries the ABI and drifts; the metapackage names the current one.
    for attempt in range(2):
        out = subprocess.run(["apt-cache", "depends", META_PACKAGE], check=False, capture_output=True,
                             text=True, timeout=60).stdout
        for line in out.splitlines():
            words = line.split()
            if len(words) == 2 and words[0] == "Depends:" and words[1].startswith("linux-image-"):
                return words[1]
        if attempt == 0:  # a fresh machine may have no package lists yet
            subprocess.run(["apt-get", "update", "-q"], check=False, capture_output=True, timeout=300)
    raise RuntimeError(f"apt-cache depends {META_PACKAGE} names no kernel package, even after apt-get update")


def kernel_kit() -> KernelKit:
    """Debian's cloud kernel and its virtio-net modules, downloaded once and cached."""
    need("dpkg-deb", "dpkg")
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = sorted(CACHE.glob("kernel-*/vmlinuz"))
        if not done:
            package = _resolve_kernel_package()
            work = Path(tempfile.mkdtemp(prefix=".fetch-", dir=CACHE))
            try:
                work.chmod(0o755)  # apt-get download drops to _apt when it can
                subprocess.run(["apt-get", "download", "-q", package], cwd=work, check=True,
                               capture_output=True, timeout=300)
                deb = next(work.glob("*.deb"))
                subprocess.run(["dpkg-deb", "-x", str(deb), "x"], cwd=work, check=True, timeout=300)
                version = package.removeprefix("linux-image-")
                kit = work / "kit"
                kit.mkdir()
                shutil.copy2(next((work / "x" / "boot").glob("vmlinuz-*")), kit / "vmlinuz")
                for name in VIRTIO_MODULES:
                    found = next((work / "x" / "lib" / "modules").glob(f"*/kernel/**/{name}.ko"))
                    shutil.copy2(found, kit / f"{name}.ko")
                (kit / "version").write_text(version + "\n")
                kit.rename(CACHE / f"kernel-{version}")
            finally:
                shutil.rmtree(work, ignore_errors=True)
            done = sorted(CACHE.glob("kernel-*/vmlinuz"))
    kit_dir = done[-1].parent
    return KernelKit(vmlinuz=kit_dir / "vmlinuz",
                     modules=tuple(kit_dir / f"{name}.ko" for name in VIRTIO_MODULES),
                     version=(kit_dir / "version").read_text().strip())


def build_initramfs(dest: Path, kit: KernelKit, script: str) -> Path:
    """A gzip'd newc cpio: busybox, the virtio modules, /init, and ``script`` as /script.sh."""
    busybox = Path(need("busybox", "busybox-static"))
    cpio = need("cpio", "cpio")
    with tempfile.TemporaryDirectory(prefix="initramfs-") as tmp:
        top = Path(tmp)
        for sub in ("bin", "proc", "sys", "dev", "tmp", "etc", "lib/modules"):
            (top / sub).mkdir(parents=True)
        shutil.copy2(busybox, top / "bin" / "busybox")
        for module in kit.modules:
            shutil.copy2(module, top / "lib" / "modules" / module.name)
        files = {"init": INIT.replace("MODULES", " ".join(VIRTIO_MODULES)),
                 "etc/udhcpc.script": UDHCPC_SCRIPT, "script.sh": script}
        for name, text in files.items():
            (top / name).write_text(text)
            (top / name).chmod(0o755)
        names = sorted(str(p.relative_to(top)) for p in top.rglob("*"))
        archive = subprocess.run([cpio, "-o", "-H", "newc", "--quiet"], cwd=top, capture_output=True,
                                 input=("\n".join(names) + "\n").encode(), check=True)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(gzip.compress(archive.stdout, compresslevel=1))
    os.chmod(dest, 0o644)
    return dest
