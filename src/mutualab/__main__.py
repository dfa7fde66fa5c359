"""``python -m mutualab`` runs the command line."""

from mutualab.cli import main

main()
