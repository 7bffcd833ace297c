"""The package version, in a leaf module: modules deep in the package read it from here, so none
of them imports the package root (which leads to the Python API and so to the engine)."""

__version__ = "0.1.0"
