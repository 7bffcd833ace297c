"""Dock panels: layers, history, histogram."""
