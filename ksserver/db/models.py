"""Tables in the spirit of Rocks 6 (rocks-reference §2.6, §3.1, §4.2, §4.4), with the unique
constraints Rocks relied on luck for: host name, MAC, IP per subnet, VM slice per container.
Columns and relationships only; queries live in ``ksserver.inventory``."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ksserver.db.base import Base


class Distribution(Base):
    __tablename__ = "distributions"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(32), unique=True)
    os_release: Mapped[str] = mapped_column(String(32), default="")
    lang: Mapped[str] = mapped_column(String(32), default="")


class Appliance(Base):
    __tablename__ = "appliances"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(32), unique=True)
    graph: Mapped[str] = mapped_column(String(64), default="default")
    node: Mapped[str] = mapped_column(String(64), default="")  # root node; '' = not kickstartable
    os: Mapped[str] = mapped_column(String(16), default="linux")
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    memberships: Mapped[list[Membership]] = relationship(back_populates="appliance")
    attributes: Mapped[list[ApplianceAttribute]] = relationship(cascade="all, delete-orphan")


class Membership(Base):
    __tablename__ = "memberships"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    appliance_id: Mapped[int] = mapped_column(ForeignKey("appliances.id"))
    distribution_id: Mapped[int] = mapped_column(ForeignKey("distributions.id"))
    public: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)  # display order of `rocks list membership`
    appliance: Mapped[Appliance] = relationship(back_populates="memberships", lazy="joined")
    distribution: Mapped[Distribution] = relationship(lazy="joined")


class Host(Base):
    __tablename__ = "hosts"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    membership_id: Mapped[int] = mapped_column(ForeignKey("memberships.id"))
    cpus: Mapped[int] = mapped_column(Integer, default=1)
    rack: Mapped[int] = mapped_column(Integer, default=0)
    rank: Mapped[int] = mapped_column(Integer, default=0)
    arch: Mapped[str] = mapped_column(String(32), default="x86_64")
    os: Mapped[str] = mapped_column(String(16), default="linux")
    run_action: Mapped[str] = mapped_column(String(64), default="os")
    install_action: Mapped[str] = mapped_column(String(64), default="install")
    comment: Mapped[str] = mapped_column(String(140), default="")
    membership: Mapped[Membership] = relationship(lazy="joined")
    interfaces: Mapped[list[Interface]] = relationship(back_populates="host", cascade="all, delete-orphan",
                                                      order_by="Interface.device")
    attributes: Mapped[list[HostAttribute]] = relationship(cascade="all, delete-orphan")
    partitions: Mapped[list[Partition]] = relationship(cascade="all, delete-orphan", order_by="Partition.device")
    boot: Mapped[Boot | None] = relationship(cascade="all, delete-orphan", uselist=False)


class Subnet(Base):
    __tablename__ = "subnets"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(32), unique=True)
    address: Mapped[str] = mapped_column(String(32))
    netmask: Mapped[str] = mapped_column(String(32))
    mtu: Mapped[int] = mapped_column(Integer, default=1500)
    dnszone: Mapped[str] = mapped_column(String(64), unique=True)
    servedns: Mapped[bool] = mapped_column(Boolean, default=False)
    # Installers on a provisioning network are believed by their recorded address; elsewhere only a token.
    provisioning: Mapped[bool] = mapped_column(Boolean, default=False)
    # Discovery: a MAC header alone identifies a host from an unassigned address here (off by default).
    discovery: Mapped[bool] = mapped_column(Boolean, default=False)


class Interface(Base):
    __tablename__ = "interfaces"
    __table_args__ = (
        UniqueConstraint("subnet_id", "ip"),
        UniqueConstraint("host_id", "device"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    host_id: Mapped[int] = mapped_column(ForeignKey("hosts.id", ondelete="CASCADE"), index=True)
    device: Mapped[str] = mapped_column(String(32))
    mac: Mapped[str | None] = mapped_column(String(64), unique=True)
    ip: Mapped[str | None] = mapped_column(String(64), index=True)
    subnet_id: Mapped[int | None] = mapped_column(ForeignKey("subnets.id"))
    name: Mapped[str | None] = mapped_column(String(128))  # DNS name on that subnet (default: host name)
    vlan: Mapped[int | None] = mapped_column(Integer)
    module: Mapped[str | None] = mapped_column(String(128))
    options: Mapped[str | None] = mapped_column(String(128))
    host: Mapped[Host] = relationship(back_populates="interfaces")
    subnet: Mapped[Subnet | None] = relationship(lazy="joined")


class GlobalAttribute(Base):
    __tablename__ = "global_attributes"
    id: Mapped[int] = mapped_column(primary_key=True)
    attr: Mapped[str] = mapped_column(String(128), unique=True)
    value: Mapped[str] = mapped_column(Text, default="")


class OsAttribute(Base):
    __tablename__ = "os_attributes"
    __table_args__ = (UniqueConstraint("os", "attr"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    os: Mapped[str] = mapped_column(String(16))
    attr: Mapped[str] = mapped_column(String(128))
    value: Mapped[str] = mapped_column(Text, default="")


class ApplianceAttribute(Base):
    __tablename__ = "appliance_attributes"
    __table_args__ = (UniqueConstraint("appliance_id", "attr"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    appliance_id: Mapped[int] = mapped_column(ForeignKey("appliances.id", ondelete="CASCADE"))
    attr: Mapped[str] = mapped_column(String(128))
    value: Mapped[str] = mapped_column(Text, default="")


class HostAttribute(Base):
    __tablename__ = "host_attributes"
    __table_args__ = (UniqueConstraint("host_id", "attr"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    host_id: Mapped[int] = mapped_column(ForeignKey("hosts.id", ondelete="CASCADE"), index=True)
    attr: Mapped[str] = mapped_column(String(128))
    value: Mapped[str] = mapped_column(Text, default="")


class Partition(Base):
    """One partition of a host, as recorded by an admin or reported by the installer (§2.6)."""

    __tablename__ = "partitions"
    __table_args__ = (UniqueConstraint("host_id", "device"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    host_id: Mapped[int] = mapped_column(ForeignKey("hosts.id", ondelete="CASCADE"), index=True)
    device: Mapped[str] = mapped_column(String(128))
    mountpoint: Mapped[str] = mapped_column(String(128), default="")
    start: Mapped[str] = mapped_column(String(128), default="")
    size: Mapped[str] = mapped_column(String(128), default="")  # parted-style "16.8GB" or a number of MB
    size_mb: Mapped[int] = mapped_column(Integer, default=0)     # normalised for comparisons
    partition_id: Mapped[str] = mapped_column(String(128), default="")
    fstype: Mapped[str] = mapped_column(String(128), default="")
    flags: Mapped[str] = mapped_column(String(128), default="")
    format_flags: Mapped[str] = mapped_column(String(128), default="")
    # Typed fields of installer reports (rocks_partition.records); admin-entered rows may leave them 0/"".
    disk: Mapped[str] = mapped_column(String(64), default="")
    start_sector: Mapped[int] = mapped_column(BigInteger, default=0)
    size_sector: Mapped[int] = mapped_column(BigInteger, default=0)
    sector_size: Mapped[int] = mapped_column(Integer, default=512)
    part_type: Mapped[str] = mapped_column(String(16), default="")
    level: Mapped[str] = mapped_column(String(8), default="")
    members: Mapped[str] = mapped_column(String(1024), default="")  # md members, space-separated


class VmNode(Base):
    __tablename__ = "vm_nodes"
    __table_args__ = (UniqueConstraint("phys_host_id", "slice"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    host_id: Mapped[int] = mapped_column(ForeignKey("hosts.id", ondelete="CASCADE"), unique=True)
    phys_host_id: Mapped[int] = mapped_column(ForeignKey("hosts.id"), index=True)
    mem: Mapped[int] = mapped_column(Integer, default=1024)  # MB
    slice: Mapped[int] = mapped_column(Integer, default=0)
    virt_type: Mapped[str] = mapped_column(String(64), default="hvm")
    host: Mapped[Host] = relationship(foreign_keys=[host_id], lazy="joined")
    phys_host: Mapped[Host] = relationship(foreign_keys=[phys_host_id], lazy="joined")
    disks: Mapped[list[VmDisk]] = relationship(cascade="all, delete-orphan", order_by="VmDisk.id")


class VmDisk(Base):
    __tablename__ = "vm_disks"
    id: Mapped[int] = mapped_column(primary_key=True)
    vm_node_id: Mapped[int] = mapped_column(ForeignKey("vm_nodes.id", ondelete="CASCADE"), index=True)
    vbd_type: Mapped[str] = mapped_column(String(64), default="file")
    prefix: Mapped[str] = mapped_column(String(512), default="")
    name: Mapped[str] = mapped_column(String(512))
    device: Mapped[str] = mapped_column(String(512), default="vda")
    mode: Mapped[str] = mapped_column(String(64), default="virtio")
    size: Mapped[int] = mapped_column(Integer, default=36)  # GB


class BootAction(Base):
    __tablename__ = "bootactions"
    id: Mapped[int] = mapped_column(primary_key=True)
    action: Mapped[str] = mapped_column(String(64), unique=True)
    kernel: Mapped[str] = mapped_column(String(256), default="")
    ramdisk: Mapped[str] = mapped_column(String(256), default="")
    args: Mapped[str] = mapped_column(String(1024), default="")


class Boot(Base):
    """What a host does on its next network boot: 'install' or 'os' (§4.2)."""

    __tablename__ = "boot"
    id: Mapped[int] = mapped_column(primary_key=True)
    host_id: Mapped[int] = mapped_column(ForeignKey("hosts.id", ondelete="CASCADE"), unique=True)
    action: Mapped[str] = mapped_column(String(16), default="os")


class Change(Base):
    """The change log servers follow to keep their in-memory inventory current.

    Every write transaction appends rows: one per changed host (``host_id``), or one with
    ``host_id`` NULL when something shared changed (attributes, appliances, networks ...), which
    makes readers reload everything; ``-host_id`` when only the host's recorded partition layout
    changed (ksserver.db.changes.note_partitioning).  Old rows are trimmed by writers."""

    __tablename__ = "changes"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    host_id: Mapped[int | None] = mapped_column(Integer)


class InstallToken(Base):
    """A per-install secret a host presents when it fetches its kickstart (?token=)."""

    __tablename__ = "install_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    host_id: Mapped[int] = mapped_column(ForeignKey("hosts.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    expires_at: Mapped[float] = mapped_column(default=0.0)  # unix time
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class AdminToken(Base):
    """A credential for admin requests over HTTP (previews); ``rocks init`` makes the first one."""

    __tablename__ = "admin_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[float] = mapped_column(default=0.0)


class Roll(Base):
    """A Rocks roll: a folder of node and graph files that joins the node library when enabled."""

    __tablename__ = "rolls"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    path: Mapped[str] = mapped_column(String(1024))
    graphs: Mapped[str] = mapped_column(String(16), default="add")   # add | replace (the stock graph)
    version: Mapped[str] = mapped_column(String(16), default="")     # picks include-version/<major>/
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)         # order among the rolls


class Generation(Base):
    """A node/graph generation ``rocks-dist dist`` validated and published (newest row is served).

    ``digest`` names the immutable copy under ``install/rocks-dist/.generations/<digest>/``.  Adding
    a row is a shared change in the change log, so every worker of every server switches together."""

    __tablename__ = "generations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    digest: Mapped[str] = mapped_column(String(64))
    arch: Mapped[str] = mapped_column(String(16), default="x86_64")
    published_at: Mapped[float] = mapped_column(default=0.0)  # unix time


class User(Base):
    """An account for the web console and the REST API (``rocks add user``); the password as an argon2 hash."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16), default="readonly")  # admin | readonly
    password_hash: Mapped[str] = mapped_column(String(256), default="")
    created_at: Mapped[float] = mapped_column(default=0.0)


class UserToken(Base):
    """An API token of a user (``rocks add user token``), stored hashed like the admin tokens."""

    __tablename__ = "user_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(64), default="api")
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[float] = mapped_column(default=0.0)


class WebSession(Base):
    """A logged-in browser: the cookie's value is stored hashed; a new one at every login (no fixation)."""

    __tablename__ = "web_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    session_hash: Mapped[str] = mapped_column(String(128), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[float] = mapped_column(default=0.0)


class AuditEntry(Base):
    """One write through the API or the console: who, what, when (``rocks list audit``)."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[float] = mapped_column(default=0.0, index=True)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(128))
    target: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[str] = mapped_column(Text, default="")


class InstallStatus(Base):
    """Where a host's current install is: the last stage it reported, and when (issue #12)."""

    __tablename__ = "install_status"
    id: Mapped[int] = mapped_column(primary_key=True)
    host_id: Mapped[int] = mapped_column(ForeignKey("hosts.id", ondelete="CASCADE"), unique=True)
    stage: Mapped[str] = mapped_column(String(16), default="issued")
    started_at: Mapped[float] = mapped_column(default=0.0)    # unix time the install was ordered
    updated_at: Mapped[float] = mapped_column(default=0.0)    # last report (or the order)
    finished_at: Mapped[float] = mapped_column(default=0.0)   # 0: not finished
    log: Mapped[str] = mapped_column(Text, default="")        # uploaded with 'failed'


class HostPartitioning(Base):
    """Per-host partitioning state: the one-shot reset, the last installer report (disk sizes and labels
    that the partition rows do not hold) and the last plan an installer sent on a stop or a refusal."""

    __tablename__ = "host_partitioning"
    host_id: Mapped[int] = mapped_column(ForeignKey("hosts.id", ondelete="CASCADE"), primary_key=True)
    reset: Mapped[bool] = mapped_column(Boolean, default=False)
    report: Mapped[str] = mapped_column(Text, default="")  # rocks_partition.records Layout JSON
    reported_at: Mapped[float] = mapped_column(default=0.0)
    plan: Mapped[str] = mapped_column(Text, default="")  # installer_plugin.decide.Plan.to_dict() JSON
    plan_text: Mapped[str] = mapped_column(Text, default="")
    plan_at: Mapped[float] = mapped_column(default=0.0)


class Build(Base):
    """One ``rocks-dist dist`` run started from the REST API or the console, as an asynchronous job.

    A row rather than process memory, so every worker of every server reports the same state.  The
    lists (failures, warnings, undefined attributes) are JSON text: read whole, never queried into."""

    __tablename__ = "builds"
    id: Mapped[int] = mapped_column(primary_key=True)
    state: Mapped[str] = mapped_column(String(16), default="queued", index=True)  # queued|running|succeeded|failed
    arch: Mapped[str] = mapped_column(String(16), default="x86_64")
    requested_by: Mapped[str] = mapped_column(String(128), default="")
    worker: Mapped[str] = mapped_column(String(256), default="")   # host:pid of the process running it
    progress: Mapped[str] = mapped_column(Text, default="")        # what it is doing now, for people
    percent: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[float] = mapped_column(default=0.0)
    started_at: Mapped[float] = mapped_column(default=0.0)
    finished_at: Mapped[float] = mapped_column(default=0.0)
    generation: Mapped[str] = mapped_column(String(64), default="")
    hosts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    failures: Mapped[str] = mapped_column(Text, default="[]")
    warnings: Mapped[str] = mapped_column(Text, default="[]")
    undefined: Mapped[str] = mapped_column(Text, default="[]")


class PublishedTree(Base):
    """What one ``rocks-dist dist`` published besides the generation row (same transaction): the generation's
    files and the tree's (build/, the plugin bundle), so every instance writes the same files from the
    database (``ksserver.published``).  ``tree`` is the folder name under ``install/rocks-dist/.trees/``."""

    __tablename__ = "published_trees"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    generation_id: Mapped[int] = mapped_column(ForeignKey("generations.id"), unique=True)
    digest: Mapped[str] = mapped_column(String(64))  # the generation's digest
    arch: Mapped[str] = mapped_column(String(16), default="x86_64")
    tree: Mapped[str] = mapped_column(String(128))


class PublishedFile(Base):
    """One file of a published tree or of its generation; its bytes are the blob named by ``sha256``."""

    __tablename__ = "published_files"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tree_id: Mapped[int] = mapped_column(ForeignKey("published_trees.id"), index=True)
    part: Mapped[str] = mapped_column(String(16))  # "generation" or "tree"
    relpath: Mapped[str] = mapped_column(String(512))
    sha256: Mapped[str] = mapped_column(String(64))
    mode: Mapped[int] = mapped_column(Integer, default=0o644)
    size: Mapped[int] = mapped_column(BigInteger, default=0)


class PublishedBlob(Base):
    """File contents by SHA-256: a file unchanged between builds is stored once."""

    __tablename__ = "published_blobs"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
