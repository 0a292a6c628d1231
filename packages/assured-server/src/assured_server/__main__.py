"""``python -m assured_server``: the same as the ``assured-server`` command."""

from assured_server.cli import main

main()
