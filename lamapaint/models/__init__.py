"""Model-agnostic plumbing shared by the engines (inpainting, selection): devices, precisions, errors.

``types`` is torch-free; ``device`` imports torch.
"""
