"""A second instance's TFTP tree follows the database (ksserver.services.tftpsync): after every change made
through instance A (the CLI on A's root), instance B's follower leaves B's tree equal to A's, byte for byte,
install tokens included.  SQLite and PostgreSQL; docs/scale-out.md."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import event, update
from sqlalchemy.engine import Engine

from ksserver.config import load_settings
from ksserver.db.models import Host
from ksserver.db.session import Database
from ksserver.services.bootfiles import KEY_NAME, token_key
from ksserver.services.tftpsync import TftpFollower


def answers(tftp: Path) -> dict[str, str]:
    """Every per-host answer file of a tree (what a PXE client may fetch), by relative path."""
    found = {}
    for pattern in ("pxelinux.cfg/*", "ipxe/*.ipxe", "grub.cfg-01-*"):
        for path in tftp.glob(pattern):
            if path.name != "default":
                found[path.relative_to(tftp).as_posix()] = path.read_text()
    return found


@pytest.fixture
def second(cluster, settings, tmp_path):  # type: ignore[no-untyped-def]
    """Instance B: its own root (the token key copied from A's), same database, a follower."""
    root = tmp_path / "instance-b"
    root.mkdir()
    key = token_key(settings, create=True)  # made by A's first install otherwise; copied like the admin token
    assert key is not None
    (root / KEY_NAME).write_text(key.hex() + "\n")
    other = load_settings(environ={}, root=root, database_url=settings.database_url)
    db = Database.from_url(other.effective_database_url)
    follower = TftpFollower(other, db)
    yield follower, other.tftp_dir
    db.engine.dispose()


def test_boot_changes_through_one_instance_reach_the_others_tree(cluster, settings, second):
    follower, tftp_b = second
    follower.step()
    assert answers(tftp_b) == answers(settings.tftp_dir)
    assert cluster("set", "host", "boot", "compute-0-0", "action=install").code == 0
    follower.step()
    theirs = answers(settings.tftp_dir)
    assert answers(tftp_b) == theirs
    assert any("token=" in text for text in theirs.values())  # the install answer, its valid token included
    # Nothing changed: nothing written.
    assert follower.step() == 0
    # A shared change (the install boot action edited) rewrites every host that uses it.
    assert cluster("add", "bootaction", "install", "kernel=vmlinuz-new", "ramdisk=initrd-new.img",
                   "args=ip=dhcp").code == 0
    follower.step()
    assert answers(tftp_b) == answers(settings.tftp_dir)
    assert any("vmlinuz-new" in text for text in answers(tftp_b).values())
    # Back to the disk, then removed: the files follow, down to none.
    assert cluster("set", "host", "boot", "compute-0-0", "action=os").code == 0
    follower.step()
    assert answers(tftp_b) == answers(settings.tftp_dir)
    assert cluster("remove", "host", "compute-0-0").code == 0
    follower.step()
    assert answers(tftp_b) == answers(settings.tftp_dir)
    assert not [name for name, text in answers(tftp_b).items() if "compute-0-0" in text]


def test_a_fresh_follower_removes_answers_of_hosts_that_are_gone(cluster, settings, second):
    follower, tftp_b = second
    stale = tftp_b / "pxelinux.cfg" / "0A0101FE"
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_text("default old\n")
    (tftp_b / "pxelinux.cfg" / "default").write_text("default local\n")  # not a host's answer: kept
    (tftp_b / "grub.cfg-01-52-54-00-99-99-99").write_text("stale\n")
    follower.step()
    assert not stale.exists() and not (tftp_b / "grub.cfg-01-52-54-00-99-99-99").exists()
    assert (tftp_b / "pxelinux.cfg" / "default").read_text() == "default local\n"
    assert answers(tftp_b) == answers(settings.tftp_dir)


def test_without_the_sites_token_key_install_answers_are_left_alone(cluster, settings, second, caplog):
    follower, tftp_b = second
    follower.step()
    (follower.settings.root / KEY_NAME).write_text("00" * 32 + "\n")  # not the key that issues tokens
    assert cluster("set", "host", "boot", "compute-0-1", "action=install").code == 0
    with caplog.at_level(logging.ERROR, logger="ksserver.tftpsync"):
        follower.step()
    assert "compute-0-1" in caplog.text and KEY_NAME in caplog.text
    # B never writes an install answer whose token the kickstart server would refuse.
    assert not any("token=" in text for text in answers(tftp_b).values())


def test_the_token_key_is_private_and_made_once(cluster, settings):
    assert cluster("set", "host", "boot", "compute-0-0", "action=install").code == 0
    path = settings.root / KEY_NAME
    assert path.stat().st_mode & 0o777 == 0o600
    key = path.read_text()
    assert cluster("set", "host", "boot", "compute-0-1", "action=install").code == 0
    assert path.read_text() == key and token_key(settings) == bytes.fromhex(key)
    assert not [p.name for p in settings.root.iterdir() if p.name.startswith(f".{KEY_NAME}")]  # no scratch left


def _varied(cluster, step) -> None:  # type: ignore[no-untyped-def]
    """Hosts of every kind the answers distinguish; ``step`` runs after each command (a host-scoped pass)."""
    commands = [
        ["add", "network", "storage", "subnet=10.9.0.0", "netmask=255.255.0.0"],
        ["set", "host", "attr", "compute-0-0", "Kickstart_PrivateKickstartHost", "10.1.1.9"],
        ["set", "appliance", "attr", "compute", "Kickstart_PrivateKickstartHost", "10.1.1.8"],
        ["set", "os", "attr", "linux", "Kickstart_PrivateKickstartHost", "10.1.1.7"],
        # several interfaces: bond0 (storage) sorts first, eth0 (private) is the install interface
        ["add", "host", "compute-0-2", "mac=52:54:00:00:01:02"],
        ["add", "host", "interface", "compute-0-2", "bond0", "mac=52:54:00:00:01:22", "ip=10.9.0.2",
         "subnet=storage"],
        # no private interface: the first with an address is the install interface
        ["add", "host", "compute-0-3", "mac=52:54:00:00:01:03"],
        ["remove", "host", "interface", "compute-0-3", "eth0"],
        ["add", "host", "interface", "compute-0-3", "ib0", "mac=52:54:00:00:01:33", "ip=10.9.0.3",
         "subnet=storage"],
        ["add", "host", "compute-0-4", "ip=10.1.200.4"],                   # no MAC: pxelinux only
        ["add", "host", "compute-0-5", "mac=52:54:00:00:01:05"],
        ["set", "host", "installaction", "compute-0-5", "install headless"],  # per-host overrides
        ["set", "host", "runaction", "compute-0-1", "memtest"],
        ["add", "host", "vm", "vm-container-0-0", "membership=Compute",
         "disk=file:/var/lib/vm-0.img,vda,virtio"],  # install, no token yet
        ["set", "host", "boot", "compute-0-0", "compute-0-2", "compute-0-3", "compute-0-4", "compute-0-5",
         "vm-container-0-0", "action=install"],
        ["set", "host", "boot", "compute-0-1", "frontend", "action=os"],
        ["set", "host", "boot", "compute-0-2", "action=install"],  # a second token, the first revoked
        ["sync", "host", "boot"],                                          # the VM's answers, with a token
    ]
    for argv in commands:
        result = cluster(*argv)
        assert result.code == 0, (argv, result)
        step()


def test_the_followers_tree_equals_the_tree_bootfiles_writes(cluster, settings, second, tmp_path):
    follower, tftp_b = second
    follower.step()
    _varied(cluster, follower.step)
    theirs = answers(settings.tftp_dir)
    assert answers(tftp_b) == theirs  # followed change by change (host-scoped passes)
    assert sum("token=" in text for text in theirs.values()) >= 6     # every install answer has one
    assert any("10.1.1.9" in text for text in theirs.values())
    assert any("10.1.1.8" in text for text in theirs.values())
    assert any("10.1.1.7" in text for text in theirs.values())
    assert "pxelinux.cfg/0A01C804" in theirs and "compute-0-4" not in "".join(theirs.values())
    # A fresh follower syncs every host in one shared pass: the same tree.
    root = tmp_path / "instance-c"
    root.mkdir()
    (root / KEY_NAME).write_text((follower.settings.root / KEY_NAME).read_text())
    other = load_settings(environ={}, root=root, database_url=settings.database_url)
    db = Database.from_url(other.effective_database_url)
    try:
        assert TftpFollower(other, db).step() == len(theirs)
    finally:
        db.engine.dispose()
    assert answers(other.tftp_dir) == theirs
    # A shared change that changes no answer writes nothing.
    assert cluster("set", "attr", "unrelated_attribute", "1").code == 0
    assert follower.step() == 0


def test_a_pass_costs_the_same_statements_for_few_hosts_or_many(cluster, settings, second):
    """Shared passes and host-scoped passes read their hosts in one batch of queries, not per host."""
    follower, tftp_b = second
    statements = [0]

    def count(*_args: object) -> None:
        statements[0] += 1

    event.listen(follower.db.engine, "before_cursor_execute", count)

    def cost(*argv: str) -> int:
        assert cluster(*argv).code == 0
        statements[0] = 0
        follower.step()
        return statements[0]

    follower.step()
    few = ["compute-0-0", "compute-0-1"]
    assert cluster("set", "host", "boot", *few, "action=install").code == 0
    shared_few = cost("set", "attr", "unrelated_attribute", "1")
    scoped_few = cost("set", "host", "boot", *few, "action=install")
    many = [f"compute-1-{i}" for i in range(12)]
    for i, name in enumerate(many):
        assert cluster("add", "host", name, f"mac=52:54:00:00:03:{i:02x}").code == 0
    assert cluster("set", "host", "boot", *many, "action=install").code == 0
    assert cost("set", "attr", "unrelated_attribute", "2") == shared_few
    assert cost("set", "host", "boot", *many, "action=install") == scoped_few
    assert answers(tftp_b) == answers(settings.tftp_dir)


def test_a_host_naming_a_missing_boot_action_keeps_its_files_and_the_others_follow(cluster, settings, second,
                                                                                  caplog):
    follower, tftp_b = second
    assert cluster("set", "host", "boot", "compute-0-0", "compute-0-1", "action=os").code == 0
    follower.step()
    before = answers(tftp_b)
    with follower.db.session(write=True) as session:  # the CLI refuses this; a hand-edited database may not
        session.execute(update(Host).where(Host.name == "compute-0-1").values(run_action="gone"))
    assert cluster("set", "host", "boot", "compute-0-0", "action=install").code == 0
    assert cluster("set", "attr", "unrelated_attribute", "1").code == 0  # a shared pass over every host
    with caplog.at_level(logging.ERROR, logger="ksserver.tftpsync"):
        follower.step()
    assert "compute-0-1" in caplog.text and "'gone'" in caplog.text
    after = answers(tftp_b)
    assert {k: v for k, v in after.items() if "compute-0-1" in v} == \
        {k: v for k, v in before.items() if "compute-0-1" in v}
    assert any("compute-0-0" in v and "token=" in v for v in after.values())


# -- The instance where a boot-action edit is made writes its own tree in one batch (BootFileChanges) -------

def test_boot_action_edits_write_the_tree_the_follower_writes(cluster, settings, second):
    """``add bootaction`` / ``set host boot`` / ``sync host boot`` on A batch their hosts (``track_ids``); the
    follower, which derives everything from the database, must still find A's tree byte for byte."""
    follower, tftp_b = second
    follower.step()
    _varied(cluster, follower.step)
    edits = [
        ["add", "bootaction", "install", "kernel=vmlinuz-2", "ramdisk=initrd-2.img", "args=ip=dhcp"],
        ["add", "bootaction", "install headless", "kernel=vmlinuz-h", "ramdisk=initrd-h.img", "args=text"],
        ["add", "bootaction", "memtest", "kernel=memtest86", "args=quiet"],  # compute-0-1's run action
        ["add", "bootaction", "os", "kernel=localboot 0"],  # the same again: no answer changes
        ["set", "host", "boot", "compute-0-0", "compute-0-4", "COMPUTE-0-5", "compute-0-0", "action=install"],
        ["set", "host", "boot", "compute-0-2", "compute-0-3", "frontend", "action=os"],
        ["set", "host", "boot", "compute-0-2", "action=install"],
        ["sync", "host", "boot"],
        ["set", "host", "boot", "vm-container-0-0", "compute-0-4", "action=os"],
    ]
    for argv in edits:
        result = cluster(*argv)
        assert result.code == 0, (argv, result)
        follower.step()
        assert answers(tftp_b) == answers(settings.tftp_dir), argv
    theirs = answers(settings.tftp_dir)
    assert any("vmlinuz-h" in text and "token=" in text for text in theirs.values())  # compute-0-5
    assert any("memtest86" in text for text in theirs.values())
    # An edit that changes no answer leaves every file as it is (not even replaced by the same text).
    inodes = {name: (settings.tftp_dir / name).stat().st_ino for name in theirs}
    assert cluster("add", "bootaction", "install headless", "kernel=vmlinuz-h", "ramdisk=initrd-h.img",
                   "args=text").code == 0
    assert {name: (settings.tftp_dir / name).stat().st_ino for name in theirs} == inodes
    assert answers(settings.tftp_dir) == theirs


def test_set_host_boot_still_refuses_unknown_hosts_and_states(cluster, settings):
    result = cluster("set", "host", "boot", "compute-0-0", "compute-9-9", "action=install")
    assert result.code != 0 and "compute-9-9" in result.err
    result = cluster("set", "host", "boot", "compute-0-0", "action=reboot")
    assert result.code != 0 and "reboot" in result.err
    assert not answers(settings.tftp_dir)  # nothing was written


def test_a_boot_action_edit_costs_the_same_statements_for_few_hosts_or_many(cluster, settings, second):
    """The instance where the edit is made reads and writes its hosts in batches, not one host at a time."""
    follower, tftp_b = second
    statements = [0]

    def count(*_args: object) -> None:
        statements[0] += 1

    def cost(*argv: str) -> int:
        statements[0] = 0
        event.listen(Engine, "before_cursor_execute", count)  # the in-process CLI's own engine
        try:
            result = cluster(*argv)
        finally:
            event.remove(Engine, "before_cursor_execute", count)
        assert result.code == 0, (argv, result)
        return statements[0]

    def costs(names: list[str], kernel: str) -> list[int]:
        assert cluster("set", "host", "boot", *names, "action=os").code == 0  # all with a Boot row alike
        return [cost("set", "host", "boot", *names, "action=os"),
                cost("set", "host", "boot", *names[::2], "action=install"),  # tokens issued
                cost("add", "bootaction", "install", f"kernel={kernel}"),   # tokens reissued
                cost("add", "bootaction", "os", "kernel=localboot 0"),       # nothing changes
                cost("sync", "host", "boot", *names),
                cost("set", "host", "boot", *names, "action=os")]            # tokens revoked

    few = ["compute-0-0", "compute-0-1"]
    few_costs = costs(few, "vmlinuz-a")
    many = [f"compute-1-{i}" for i in range(14)]  # fresh hosts, in the state the few started in
    for i, name in enumerate(many):
        assert cluster("add", "host", name, f"mac=52:54:00:00:03:{i:02x}").code == 0
    assert costs(many, "vmlinuz-b") == few_costs
    follower.step()
    assert answers(tftp_b) == answers(settings.tftp_dir)
