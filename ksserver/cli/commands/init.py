"""rocks init."""

from __future__ import annotations

from ksserver.cli.registry import command
from ksserver.inventory import defaults


@command("init", summary="Create or upgrade the cluster database and add the stock appliances, "
                         "memberships, networks, boot actions and global attributes (idempotent).",
         max_args=0)
def init(ctx, args, kv):  # type: ignore[no-untyped-def]
    from ksserver.db import migrate  # alembic is slow to import; only init needs it

    migrate.upgrade(ctx.db.engine)
    with ctx.db.session(write=True) as session:
        created = defaults.initialize(session)
    ctx.out.write(f"database ready: {ctx.settings.effective_database_url.split('@')[-1]}\n")
    if "root_password" in created:
        ctx.out.write("generated a root password for installed nodes (stored only as a SHA-512 hash in "
                      "Kickstart_PrivateRootPassword):\n"
                      f"  {created['root_password']}\n"
                      "change it with: rocks set password\n")
