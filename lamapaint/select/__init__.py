"""Selecting what to remove: Segment Anything models (``sam``) and their shared errors.

Torch-free on purpose: the editor and the CLI import the error types and names before torch is loaded;
``lamapaint.select.sam`` holds the torch models.
"""
