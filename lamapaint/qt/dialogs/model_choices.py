"""The engine settings as the model manager offers them: a plain label and one sentence each.

Values are the engine's own names (``lamapaint.inpaint.types``); a test keeps the lists in step.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Choice:
    value: str  # what Settings stores and the engine reads
    label: str
    explanation: str


RECOMMENDED = " (Recommended)"

MODEL_CHOICES = (
    Choice("auto", "Best installed" + RECOMMENDED, "LaMa when a model is installed, otherwise the basic fill."),
    Choice("big-lama", "Big LaMa", "The full LaMa model: convincing fills of large areas."),
    Choice("lama-fourier", "LaMa Fourier", "A smaller LaMa; needs its own model file."),
    Choice("opencv-telea", "Basic fill (Telea)", "A classical fill from the edges: instant, but for small blemishes only."),
    Choice("opencv-ns", "Basic fill (Navier–Stokes)", "Another classical fill: instant, but for small blemishes only."),
)

DEVICE_CHOICES = (
    Choice("auto", "Automatic" + RECOMMENDED, "The graphics card when there is a usable one, otherwise the processor."),
    Choice("cpu", "Processor (CPU)", "Works everywhere; a large removal takes a few seconds."),
    Choice("cuda", "NVIDIA graphics card", "Much faster than the processor."),
    Choice("mps", "Apple graphics", "Faster than the processor on Apple computers."),
)

PRECISION_CHOICES = (
    Choice("auto", "Automatic" + RECOMMENDED, "The fastest setting this machine computes accurately."),
    Choice("fp32", "Full (fp32)", "The exact reference; slower and uses the most memory."),
    Choice("bf16", "Half (bf16)", "About twice as fast on recent processors and graphics cards; fills look the same."),
    Choice("fp16", "Half (fp16)", "Fast on graphics cards; slow on the processor."),
)

STRATEGY_CHOICES = (
    Choice("auto", "Automatic" + RECOMMENDED, "Full resolution around each hole; only very large holes are filled at a reduced scale."),
    Choice("full", "Whole photo at once", "Sends the whole photo through the model: slow and memory-hungry on big photos."),
    Choice("crop", "Around the hole, always sharp", "Full resolution around the hole however big it is; large holes can take long."),
    Choice("resize", "Scaled down", "Fills a smaller copy: the quickest, but the fill is softer."),
)
