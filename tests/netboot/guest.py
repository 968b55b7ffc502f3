"""What the booted guest does: an anaconda-like client in busybox sh, run by the initramfs's /init.

It fetches the kickstart from ``ks.url`` (kernel command line) with anaconda's
``X-RHN-Provisioning-MAC-0: eth0 <mac>`` header and ``?token=<ks.token>``, checks it looks like a
kickstart, then POSTs ``stage=finished`` to ``ks.report``.  Each step prints a ``NETBOOT:`` line on the
serial console; /init powers off afterwards.
"""

KICKSTART_CLIENT = r"""
echo "NETBOOT: mac $MAC"
if wget -q -O /tmp/ks --header "X-RHN-Provisioning-MAC-0: eth0 $MAC" "$ARG_ks_url?token=$ARG_ks_token"; then
    echo "NETBOOT: kickstart fetched $(wc -c < /tmp/ks) bytes"
else
    echo "NETBOOT: kickstart fetch failed"
fi
if grep -q '^%packages' /tmp/ks; then stage=finished; else stage=failed; fi
wget -q -O /tmp/reply --post-data "stage=$stage&mac=$MAC" "$ARG_ks_report" && echo "NETBOOT: reported $stage"
"""


def install_args(ks_url: str, token: str, report_url: str) -> str:
    """Kernel arguments for the guest: serial console, no reboot on panic, and where to go."""
    return f"console=ttyS0 panic=-1 ks.url={ks_url} ks.token={token} ks.report={report_url}"
