"""`python -m evalkit` is the `evalkit` command."""

from evalkit.cli import main

main()
