"""Photo and project files in and out; numpy, OpenCV and Pillow only."""
