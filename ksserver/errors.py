"""The ksserver error tree.  Standard library only; every ksserver module may import it.

    RocksError                      exit 1, HTTP 400
    ├── InvalidArgument             bad key=value, bad IP/MAC, bad attribute value
    ├── NotFound                    exit 2, HTTP 404
    │   ├── HostNotFound
    │   ├── ApplianceNotFound
    │   └── ...                     (subclasses name the missing thing)
    ├── AlreadyExists               exit 3, HTTP 409 (duplicate name, MAC, IP)
    ├── Unauthorized                HTTP 401 (no or bad credentials for the API / console)
    ├── Forbidden                   HTTP 403 (unknown requester, spoofing, preview from afar, read-only)
    ├── Conflict                    HTTP 409/412/428 (stale or missing If-Match: someone else changed it)
    ├── TooLarge                    HTTP 413 (a request body beyond its limit)
    ├── ConfigError                 bad settings or config file
    ├── AllocationError             no free IP / slice / MAC left
    ├── DatabaseError               HTTP 503: no database, not initialised, unreachable
    ├── DistError                   rocks-dist dist refused to publish (failing hosts, lock held)
    ├── VMFailure                   a libvirt operation failed (xenvm's VMError, translated once
    │                               in ksserver.services.vms)
    ├── FilesNotWritten             the database changed but derived files (PXE) could not follow
    └── GraphError                  HTTP 500; carries path and line of the XML at fault
        └── KickstartInvalid        pykickstart rejected what the graph produced

Domain code raises these; the CLI (``ksserver.cli``) and the web app (``ksserver.web``)
translate them once, into an exit code + one line on stderr, or an HTTP status + one line.
"""

from __future__ import annotations


class RocksError(Exception):
    """Base of every error ksserver reports to a user."""

    exit_code: int = 1
    status: int = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidArgument(RocksError):
    pass


class NotFound(RocksError):
    exit_code = 2
    status = 404


class HostNotFound(NotFound):
    pass


class ApplianceNotFound(NotFound):
    pass


class MembershipNotFound(NotFound):
    pass


class NetworkNotFound(NotFound):
    pass


class AttributeNotFound(NotFound):
    pass


class AlreadyExists(RocksError):
    exit_code = 3
    status = 409


class Forbidden(RocksError):
    status = 403


class Unauthorized(RocksError):
    status = 401


class Conflict(RocksError):
    """A change based on a stale version (412) or without naming the version at all (428)."""

    status = 412


class TooLarge(RocksError):
    status = 413


class ConfigError(RocksError):
    pass


class AllocationError(RocksError):
    status = 409


class DatabaseError(RocksError):
    status = 503


class DistError(RocksError):
    pass


class BuildBusy(RocksError):
    """A build job is already queued or running: one ``rocks-dist dist`` at a time."""

    status = 409


class ConsoleBusy(RocksError):
    """As many browser-console proxies run as a server process allows; one must end first."""

    status = 503


class VMFailure(RocksError):
    """A libvirt operation on a VM container failed; the message names the VM and container."""


class NotInstalling(RocksError):
    """An install status report from a host whose boot action is not install (e.g. already finished)."""

    status = 409


class FilesNotWritten(RocksError):
    """The database change is committed, but files derived from it (PXE/iPXE) could not be written."""

    status = 500


class GraphError(RocksError):
    """A problem in node or graph XML.  ``path`` and ``line`` point at the culprit."""

    status = 500

    def __init__(self, message: str, path: str | None = None, line: int | None = None,
                 column: int | None = None):
        self.path = path
        self.line = line
        self.column = column
        where = ""
        if path:
            where = str(path)
            if line:
                where += f":{line}"
                if column:
                    where += f":{column}"
            where += ": "
        super().__init__(where + message)
        self.reason = message


class KickstartInvalid(GraphError):
    """The generated kickstart failed pykickstart validation; never served."""
