"""``python -m simulator``: the same as the ``resim`` command."""

from simulator.cli import main

main()
