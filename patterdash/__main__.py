"""``python -m patterdash``: the same CLI as the ``patterdash`` script."""

from patterdash_cli.main import main

main()
