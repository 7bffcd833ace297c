"""lamapaint: remove unwanted objects from photos with LaMa, non-destructively."""

__version__ = "0.1.0"
