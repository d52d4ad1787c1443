"""``python -m pipeline`` runs the ``logscrub`` command line."""

from pipeline.cli.main import main

main()
