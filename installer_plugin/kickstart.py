"""The kickstart sections the server wraps around the site's %pre scripts (text, in this order):

    bootstrap_pre(bundle_url)      fetch + unpack the bundle into /tmp/product; /opt/rocks/bin/python
    db_info_pre(db_info_json)      the host's recorded partitions (records.DbInfo.to_json())
    ... the site's %pre scripts (partition.xml / replace-partition.xml) ...
    decide_pre(server, token)      write /tmp/partition-info; stops the install on a mismatch
    "%include /tmp/partition-info"
    report_post(server, token)     %post --nochroot: report the final layout, stamp markers
"""

from __future__ import annotations

import json

BOOTSTRAP = r'''import io, os, sys, tarfile, time, urllib.request
url = %s
for attempt in range(5):
    try:
        data = urllib.request.urlopen(url, timeout=60).read()
        break
    except OSError as exc:
        sys.stderr.write("fetching %%s: %%s\n" %% (url, exc))
        time.sleep(2 * attempt + 1)
else:
    sys.exit("cannot fetch the partitioning plugin from %%s" %% url)
with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
    for member in tar.getmembers():
        parts = member.name.split("/")
        if member.name.startswith("/") or ".." in parts or not (member.isfile() or member.isdir()):
            sys.exit("refusing bundle member %%r" %% member.name)
    tar.extractall("/tmp/product")
os.makedirs("/opt/rocks/bin", exist_ok=True)
if os.path.lexists("/opt/rocks/bin/python"):
    os.remove("/opt/rocks/bin/python")
os.symlink("/tmp/product/bin/python", "/opt/rocks/bin/python")
'''


def bootstrap_pre(bundle_url: str) -> str:
    script = BOOTSTRAP % json.dumps(bundle_url)
    return "%%pre --erroronfail --interpreter=/usr/bin/python3\n%s%%end\n" % script


def db_info_pre(db_info_json: str) -> str:
    text = json.dumps(json.loads(db_info_json), sort_keys=True)  # one line of JSON: safe in a heredoc
    return "%%pre\ncat > /tmp/db_partition_info.json << 'ROCKS_DB_EOF'\n%s\nROCKS_DB_EOF\n%%end\n" % text


def _args(command: str, server: str, token: str | None) -> list[str]:
    args = [command]
    if server:
        args += ["--server", server]
    if token:
        args += ["--token", token]
    return args


def decide_pre(server: str = "", token: str | None = None) -> str:
    return ("%%pre --erroronfail --interpreter=/opt/rocks/bin/python\nimport sys\n"
            "from installer_plugin.cli import main\nsys.exit(main(%s))\n%%end\n"
            % json.dumps(_args("pre-decide", server, token)))


def report_post(server: str = "", token: str | None = None) -> str:
    return ("%%post --nochroot --interpreter=/opt/rocks/bin/python\nimport sys\n"
            "from installer_plugin.cli import main\nsys.exit(main(%s))\n%%end\n"
            % json.dumps(_args("post-report", server, token)))


INCLUDE = "%include /tmp/partition-info\n"
