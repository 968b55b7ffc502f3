"""Settings: one frozen object, from defaults < optional TOML file < ``KSSERVER_*`` environment.

Nothing here runs at import time; callers build a ``Settings`` with ``load_settings()``.
Every field carries its help text (``SETTINGS_HELP``); ``tests/test_docs.py`` checks that
each one is documented in ``docs/configuration.md``.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
TYPE_CHECKING = False  # typing itself costs a rocks process ~5 ms of imports
if TYPE_CHECKING:
    from typing import Any, Mapping

from ksserver.errors import ConfigError
from ksserver.values import parse_bool


def _setting(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class Settings:
    root: Path = _setting(Path("state"), "State directory: database file, site-profiles, built distribution, TFTP tree.")
    database_url: str = _setting("", "SQLAlchemy URL of the cluster database. Empty: SQLite file <root>/cluster.db. "
                                     "PostgreSQL: postgresql+psycopg://user@host:port/db.")
    bind: str = _setting("127.0.0.1:8080", "Address:port the kickstart server listens on (ksserver serve --bind).")
    workers: int = _setting(2, "Number of server worker processes (ksserver serve --workers).")
    files_bind: str = _setting("", "Address:port of ksserver serve's install-tree listener (files under "
                                   "install/ sent by sendfile; installers reach it through the "
                                   "Kickstart_PrivateInstallHost attribute). Empty: the address of bind, its "
                                   "port + 1. off: no such listener.")
    server: str = _setting("uvloop", "HTTP server of ksserver serve: uvloop (ksserver's own HTTP/1.1 front on "
                                     "uvloop and httptools: the fastest for kickstarts; slow clients cost a "
                                     "connection object, not a worker), granian (Rust connections; large "
                                     "files under install/ sent from Rust) or gunicorn (worker_class below).")
    worker_class: str = _setting("sync", "gunicorn worker class (server gunicorn only): sync (one request at a time per worker, fair FIFO "
                                         "accept queue: best for installers, which use one connection per "
                                         "fetch) or gthread (threads; for keep-alive clients).")
    threads: int = _setting(8, "Threads per gunicorn worker with worker_class gthread; with uvloop or granian, the "
                                "threads per worker for the console and API views, and 4 x this many for "
                                "installers' reports.")
    ks_version: str = _setting("RHEL9", "Default pykickstart syntax version of generated kickstarts "
                                        "(host/appliance attribute ks_version overrides).")
    evals: bool = _setting(False, "Run <eval> elements of node files when generating kickstarts (as "
                                  "eval_user, without secret attributes). Off: each eval is replaced by a "
                                  "comment saying so.")
    eval_user: str = _setting("nobody", "Unprivileged user <eval> scripts run as when the server is root.")
    eval_timeout: float = _setting(10.0, "Seconds an <eval> may run before generation fails with an error.")
    trusted_proxies: tuple[str, ...] = _setting((), "Addresses of reverse proxies whose X-Forwarded-For header is "
                                                    "believed (comma-separated). Empty: never believed.")
    profile_version: str = _setting("1", "Version directory under <root>/site-profiles/ that holds the site's "
                                         "nodes/ and graphs/default/.")
    reload_interval: float = _setting(2.0, "Seconds between the server's checks for site-profile edits not "
                                           "yet published by rocks-dist dist (logged; never served before).")
    log_level: str = _setting("INFO", "Logging level of the server (DEBUG, INFO, WARNING, ERROR).")
    install_token_ttl: float = _setting(86400.0, "Seconds an install token (issued by 'rocks set host boot "
                                                 "action=install', shoot-node) stays valid if the install "
                                                 "never reports finished.")
    install_stall_after: float = _setting(1800.0, "Seconds without a status report after which 'rocks list host "
                                                  "status' and shoot-node call an unfinished install stalled.")
    install_server_url: str = _setting("", "Base URL installers reach this server at, put on install kernel lines "
                                           "(inst.ks=) and in iPXE answers. Empty: http://<the host's "
                                           "Kickstart_PrivateKickstartHost attribute>.")
    tftp_follow: bool = _setting(False, "ksserver serve keeps <root>/tftpboot in line with the database's "
                                        "change log (one follower process per instance): on for each of several "
                                        "instances sharing one database (docs/scale-out.md).")

    @property
    def effective_files_bind(self) -> str | None:
        """Where the install-tree listener binds, or None when it is off."""
        if self.files_bind.strip().lower() == "off":
            return None
        if self.files_bind.strip():
            return self.files_bind.strip()
        host, _, port = self.bind.rpartition(":")
        return f"{host}:{int(port) + 1}" if port.isdigit() else None

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.root / 'cluster.db').resolve()}"

    @property
    def site_profile_dir(self) -> Path:
        return self.root / "site-profiles" / self.profile_version

    @property
    def tftp_dir(self) -> Path:
        return self.root / "tftpboot"

    @property
    def dist_dir(self) -> Path:
        return self.root / "install"


SETTINGS_HELP: dict[str, str] = {f.name: f.metadata["help"] for f in fields(Settings)}
SERVERS = ("uvloop", "granian", "gunicorn")
ENV_PREFIX = "KSSERVER_"
CONFIG_ENV = "KSSERVER_CONFIG"


def _coerce(name: str, raw: Any) -> Any:
    target = {f.name: f for f in fields(Settings)}[name]
    default = target.default
    try:
        if isinstance(default, bool):
            if isinstance(raw, bool):
                return raw
            parsed = parse_bool(raw)
            if parsed is None:
                raise ValueError(f"expected true/false, got {raw!r}")
            return parsed
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
        if isinstance(default, Path):
            return Path(raw)
        if isinstance(default, tuple):
            if isinstance(raw, (list, tuple)):
                return tuple(str(x).strip() for x in raw if str(x).strip())
            return tuple(x.strip() for x in str(raw).split(",") if x.strip())
        return str(raw)
    except ValueError as exc:
        raise ConfigError(f"setting {name}: {exc}") from None


def load_settings(config_file: str | Path | None = None,
                  environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Defaults, then the TOML file (``config_file`` or $KSSERVER_CONFIG), then KSSERVER_* variables,
    then keyword overrides."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    names = {f.name for f in fields(Settings)}
    path = config_file or env.get(CONFIG_ENV)
    if path:
        try:
            data = tomllib.loads(Path(path).read_text())
        except FileNotFoundError:
            raise ConfigError(f"config file {path} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {path}: {exc}") from None
        section = data.get("ksserver", data)
        for key, raw in section.items():
            if key not in names:
                raise ConfigError(f"config file {path}: unknown setting {key!r}")
            values[key] = _coerce(key, raw)
    for name in names:
        raw = env.get(ENV_PREFIX + name.upper())
        if raw is not None and raw != "":
            values[name] = _coerce(name, raw)
    for key, raw in overrides.items():
        if raw is not None:
            values[key] = _coerce(key, raw)
    settings = replace(Settings(), **values)
    if settings.workers < 1 or settings.threads < 1:
        raise ConfigError("workers and threads must be at least 1")
    if settings.server not in SERVERS:
        raise ConfigError(f"server must be one of {', '.join(SERVERS)}, not {settings.server!r}")
    if settings.worker_class not in ("sync", "gthread"):
        raise ConfigError(f"worker_class must be sync or gthread, not {settings.worker_class!r}")
    return settings
