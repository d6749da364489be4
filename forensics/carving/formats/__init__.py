"""One module per file-format family; each defines a Carver subclass (see base.py).

The registry of carvers in use is ``forensics.carving.CARVERS``.
"""
