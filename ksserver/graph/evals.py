"""Running ``<eval>`` scripts on the server at generation time.

The script is fed to ``shell`` (split like a command line, default ``sh``) on standard input.
Its environment holds PATH, every host attribute except secrets (``ksserver.values.is_secret_attr``:
the root password hash, tokens, keys), the ``<eval>`` element's own attributes and the caller's
extra variables (e.g. ``HTTP_X_RHN_PROVISIONING_MAC_0``).  When the server runs as root the script
runs as ``user`` (default nobody, no supplementary groups) in ``/``: a node file is not a way to
root.  A non-zero exit, a missing shell or user or a timeout is a GraphError naming the node file
and line; on timeout the whole process group is killed.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
from collections.abc import Mapping

from ..errors import GraphError
from ..values import is_secret_attr

_BAD_ENV = ("=", "\0")
DEFAULT_EVAL_USER = "nobody"


def eval_env(attrs: Mapping[str, str], element_attrs: Mapping[str, str],
             extra: Mapping[str, str] | None) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", os.defpath), "LC_ALL": "C.UTF-8"}
    for source in (attrs, element_attrs, extra or {}):
        for key, value in source.items():
            if key and value is not None and not any(c in key for c in _BAD_ENV) and "\0" not in value \
                    and not is_secret_attr(key):
                env[key] = value
    return env


def _unprivileged(user: str, path: str, line: int) -> dict[str, object]:
    """Popen arguments that drop root to ``user`` (its primary group, no supplementary groups)."""
    if os.geteuid() != 0:
        return {}  # already unprivileged: nothing to drop
    import pwd

    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        raise GraphError(f"<eval> not run: eval user {user!r} does not exist", path=path, line=line) from None
    if entry.pw_uid == 0:
        raise GraphError(f"<eval> not run: eval user {user!r} is root", path=path, line=line)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": [], "cwd": "/"}


def run_eval(shell: str, script: str, env: Mapping[str, str], timeout: float,
             path: str, line: int, user: str = DEFAULT_EVAL_USER) -> str:
    """Run one eval and return its standard output (decoded as UTF-8)."""
    argv = shlex.split(shell) or ["sh"]
    drop = _unprivileged(user, path, line)
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=dict(env), start_new_session=True, **drop)  # type: ignore[call-overload]
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
