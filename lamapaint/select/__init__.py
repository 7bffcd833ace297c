"""Selecting what to remove: Segment Anything (:mod:`.sam`) and, without a model, classical select (:mod:`.classical`).

Side by side with :mod:`lamapaint.inpaint` above :mod:`lamapaint.models`; neither imports the other.
"""
