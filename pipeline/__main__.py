"""``python -m pipeline`` runs the ``logscrub`` command line."""

from pipeline.cli import main

main()
