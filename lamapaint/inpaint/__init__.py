"""The inference engine: the LaMa generator, its weights, the pipeline and the backends (torch, OpenCV; no Qt)."""
