"""``python -m ksserver ...`` behaves like ``rocks ...``."""

from ksserver.cli import main

main()
