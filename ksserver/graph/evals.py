"""Running ``<eval>`` scripts on the server at generation time.

The script is fed to ``shell`` (split like a command line, default ``sh``) on standard input.
Its environment holds PATH, every host attribute, the ``<eval>`` element's own attributes and
the caller's extra variables (e.g. ``HTTP_X_RHN_PROVISIONING_MAC_0``).  A non-zero exit, a
missing shell or a timeout is a GraphError naming the node file and line; on timeout the
whole process group is killed.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
from collections.abc import Mapping

from ..errors import GraphError

_BAD_ENV = ("=", "\0")


def eval_env(attrs: Mapping[str, str], element_attrs: Mapping[str, str],
             extra: Mapping[str, str] | None) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", os.defpath), "LC_ALL": "C.UTF-8"}
    for source in (attrs, element_attrs, extra or {}):
        for key, value in source.items():
            if key and value is not None and not any(c in key for c in _BAD_ENV) and "\0" not in value:
                env[key] = value
    return env


def run_eval(shell: str, script: str, env: Mapping[str, str], timeout: float,
             path: str, line: int) -> str:
    """Run one eval and return its standard output (decoded as UTF-8)."""
    argv = shlex.split(shell) or ["sh"]
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=dict(env), start_new_session=True)
    except OSError as e:
        raise GraphError(f"<eval shell={shell!r}> cannot start: {e.strerror}", path=path, line=line)
    try:
        out, err = proc.communicate(script.encode(), timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        proc.communicate()
        raise GraphError(f"<eval> timed out after {timeout:g} s", path=path, line=line) from None
    if proc.returncode != 0:
        detail = err.decode("utf-8", "replace").strip().splitlines()
        tail = f": {detail[-1]}" if detail else ""
        raise GraphError(f"<eval> exited with status {proc.returncode}{tail}", path=path, line=line)
    return out.decode("utf-8", "replace")
