"""The canvas: a QGraphicsView over the photo, its result layers and the mask overlay."""
