"""rocks init."""

from __future__ import annotations

from ksserver.cli.context import Context
from ksserver.cli.registry import Call, command
from ksserver.services import setup


@command("init", local=True, summary="Create or upgrade the cluster database and add the stock appliances, "
                         "memberships, networks, boot actions and global attributes (idempotent).",
         max_args=0, needs_db=False)
def init(ctx: Context, call: Call) -> None:
    setup.secure_state_dir(ctx.settings.root)
    created = setup.initialize(ctx.cluster)
    ctx.out.write(f"database ready: {ctx.settings.effective_database_url.split('@')[-1]}\n")
    if "root_password" in created:
        ctx.out.write("generated a root password for installed nodes (stored only as a SHA-512 hash in "
                      "Kickstart_PrivateRootPassword):\n"
                      f"  {created['root_password']}\n"
                      "change it with: rocks set password\n")
    if "admin_token_file" in created:
        ctx.out.write(f"admin token for HTTP previews (curl -H \"Authorization: Bearer $(cat FILE)\"): "
                      f"{created['admin_token_file']}\n")
