"""``python -m simulator.cli``: the same as the ``resim`` command."""

from simulator.cli import main

main()
