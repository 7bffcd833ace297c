"""What the editor says about the LaMa model, in a photographer's words, the cheap check
whether one is installed, and the LaMa store the model installer downloads and imports through.

Nothing here imports torch: the window asks ``model_installed`` before the engine loads.
"""

from __future__ import annotations

from pathlib import Path

from lamapaint.inpaint.installed import weights_on_disk
from lamapaint.inpaint.types import ChecksumError, DownloadError, UnsafePickleError, WeightsError
from lamapaint.jobs import CancelToken, ProgressCallback
from lamapaint.settings import app_paths

#: The model the editor offers (see lamapaint.inpaint.weights.KNOWN_MODELS).
OFFERED_MODEL = "big-lama"
OFFERED_FILENAME = "big-lama.pt"
OFFERED_URL = "https://github.com/Sanster/models/releases/download/add_big_lama/big-lama.pt"
OFFERED_SIZE_TEXT = "about 200 MB"

IMPORT_FILTER = "LaMa model files (*.pt *.zip *.ckpt *.pth *.safetensors);;All files (*)"


class LamaStore:
    """The LaMa family's downloads and imports, for the model installer (``qt/model_installer.py``).

    The engine's weights package (and torch) is imported on the worker thread, at the first call.
    """

    title = "LaMa model"

    def download(self, model_id: str, progress: ProgressCallback, cancel: CancelToken) -> Path:
        """A catalogue model (lamapaint.inpaint.weights.KNOWN_MODELS), checksummed and installed."""
        from lamapaint.inpaint.weights import download_model

        return download_model(model_id, progress, cancel)

    def import_file(self, path: Path, progress: ProgressCallback, cancel: CancelToken) -> Path:
        """A weights file the person picked, checked (no code runs) and installed."""
        from lamapaint.inpaint.weights import import_model

        return import_model(path)


LAMA_STORE = LamaStore()


WRONG_FILE = (
    "This file is not a LaMa model: choose big-lama.pt, big-lama.zip, best.ckpt or a .safetensors "
    "file made by lamapaint."
)


def models_dir() -> Path:
    return app_paths().models_dir


def model_installed() -> bool:
    """Whether the engine will find LaMa weights, checked by listing folders only (no torch)."""
    return weights_on_disk()


def is_offline(exc: BaseException) -> bool:
    """A download that never reached the server (no network, no DNS, a firewall)."""
    return isinstance(exc, DownloadError) and not isinstance(exc, ChecksumError) and "cannot reach" in str(exc)


def browser_download_text(link_colour: str | None = None) -> str:
    """What to do without a working download: the address and the exact folder (rich text)."""
    style = f' style="color: {link_colour}"' if link_colour else ""
    return (
        f"Download <b>{OFFERED_FILENAME}</b> in a web browser from<br><a href=\"{OFFERED_URL}\"{style}>{OFFERED_URL}</a><br>"
        f"and put it in this folder:<br><code>{models_dir()}</code><br>"
        "or choose <i>Import a file I have</i> to pick it where it is."
    )


def describe_model_error(exc: BaseException) -> str:
    """One sentence for a failed download or import; no errno numbers, no stack traces."""
    text = str(exc)
    if is_offline(exc):
        return "No internet connection: connect to the internet and try again, or download the file in a browser."
    if isinstance(exc, ChecksumError):
        return "The download arrived damaged and was deleted; please try again."
    if isinstance(exc, DownloadError):
        if "cannot write" in text:
            return "The model could not be saved: the disk is full or the folder cannot be written."
        if "HTTP" in text:
            return "The download server did not hand out the file right now; please try again later."
        return "The download was interrupted; try again and it continues where it stopped."
    if isinstance(exc, UnsafePickleError):
        return "This file contains program code that lamapaint will not run, so it cannot be used as a model."
    if isinstance(exc, WeightsError):
        return WRONG_FILE
    if isinstance(exc, FileNotFoundError):
        return "The file is no longer there."
    if isinstance(exc, PermissionError):
        return "lamapaint is not allowed to read or write that file."
    if isinstance(exc, OSError):
        return f"The file could not be read or written ({exc.strerror or type(exc).__name__})."
    return f"Something went wrong: {text or type(exc).__name__}"


def engine_words(backend: str, device: str) -> str:
    """The status bar's engine: "LaMa on the CPU", "the basic fill"."""
    if backend.startswith("opencv"):
        return "basic fill"
    where = {"cpu": "CPU", "cuda": "GPU", "mps": "GPU"}.get(device.split(":")[0], device)
    return f"LaMa on the {where}"
