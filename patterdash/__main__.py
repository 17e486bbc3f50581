"""``python -m patterdash``: the same CLI as the ``patterdash`` script."""

from patterdash_cli.main import main  # type: ignore[import-not-found, unused-ignore]

main()
