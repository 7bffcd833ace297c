"""The document model: pure numpy/OpenCV, no Qt, no torch."""
