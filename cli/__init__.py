"""The ``patterdash`` command line (installed as the ``patterdash_cli`` package)."""
