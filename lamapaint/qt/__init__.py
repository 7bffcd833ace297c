"""The Qt shell: every PySide6 import lives in this package."""
