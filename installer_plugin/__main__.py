"""``python -m installer_plugin``: see installer_plugin.cli."""

import sys

from installer_plugin.cli import main

if __name__ == "__main__":
    sys.exit(main())
