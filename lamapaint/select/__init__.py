"""Selecting what to remove: Segment Anything models (``sam``), classical select without one (``classical``).

Side by side with :mod:`lamapaint.inpaint` above :mod:`lamapaint.models`; neither imports the other.
Torch-free on purpose: the editor and the CLI import the error types and names before torch is
loaded; ``lamapaint.select.sam`` holds the torch models.
"""
