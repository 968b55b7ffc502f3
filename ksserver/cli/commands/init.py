"""rocks init."""

from __future__ import annotations

from ksserver.cli.context import Context
from ksserver.cli.registry import Call, command
from ksserver.services import setup


@command("init", summary="Create or upgrade the cluster database and add the stock appliances, "
                         "memberships, networks, boot actions and global attributes (idempotent).",
         max_args=0, needs_db=False)
def init(ctx: Context, call: Call) -> None:
    ctx.settings.root.mkdir(parents=True, exist_ok=True)
    created = setup.initialize(ctx.cluster)
    ctx.out.write(f"database ready: {ctx.settings.effective_database_url.split('@')[-1]}\n")
    if "root_password" in created:
        ctx.out.write("generated a root password for installed nodes (stored only as a SHA-512 hash in "
                      "Kickstart_PrivateRootPassword):\n"
                      f"  {created['root_password']}\n"
                      "change it with: rocks set password\n")
