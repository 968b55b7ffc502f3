"""The service layer: every change to the cluster is one call here.

Front ends (the ``rocks`` CLI, ``rocks-dist``, the installer endpoints, later the REST API and web
console) parse their input into a typed request, call one function of this package and format
what it returns.  They never touch the database session, PXE files or libvirt themselves.

Each operation follows the same order and failure rule:

1. **validate** the request (``ksserver.inventory.validate``: one rule per fact);
2. **act on libvirt first** when the operation has a VM side: if a container refuses, nothing was
   written, so the database still describes what exists;
3. **one database transaction** for the rows, plus the change-log row that tells every server
   process what to reload (``ksserver.db.changes``); any error rolls the whole of it back;
4. **derived files last** (pxelinux, iPXE): they are a function of the committed rows.  If writing
   them fails the error (``FilesNotWritten``) says so, and ``rocks sync host boot`` rewrites them.

The layer knows nothing of click, Flask or HTTP.  ``Cluster`` carries what every call needs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ksserver.config import Settings
from ksserver.db.session import Database

HypervisorFactory = Callable[[str, str], Any]


@dataclass
class Cluster:
    """The cluster as the service layer sees it: settings, the database and how to reach libvirt."""

    settings: Settings
    db: Database
    hypervisor_factory: HypervisorFactory | None = None  # tests inject shared libvirt connections
