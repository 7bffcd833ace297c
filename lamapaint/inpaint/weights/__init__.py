"""Generator weights, one module per job (see docs/ARCHITECTURE.md, Weights):

- :mod:`.deterministic`: seeded test weights (``deterministic_state_dict``, used outside the repo);
- :mod:`lamapaint.models.catalogue`: the published models that can be downloaded (``KNOWN_MODELS``);
- :mod:`.checkpoints`: reading every file format into a checked state dict, without running code;
- :mod:`.model_store`: the installed models (import, listing best first, candidates on disk);
- :mod:`.conversion_cache`: bounded fast-loading copies of files used once (``--weights FILE``);
- :mod:`.choice`: which generator to load (``load_generator``);
- :mod:`.model_download`: download, verify, install (``download_model``).

The names below are the package's API; import them from here.
"""

from lamapaint.inpaint.types import ChecksumError, DownloadError, NoWeightsError, UnsafePickleError, WeightsError
from lamapaint.inpaint.weights.checkpoints import load_weights_file
from lamapaint.inpaint.weights.choice import load_generator
from lamapaint.inpaint.weights.deterministic import deterministic_state_dict
from lamapaint.inpaint.weights.model_download import download_model
from lamapaint.inpaint.weights.model_store import (
    InstalledModel,
    ModelInfo,
    find_existing_weights,
    import_model,
    installed_models,
)
from lamapaint.models.catalogue import KNOWN_MODELS, KnownModel
from lamapaint.models.store import LoadedWeights

__all__ = [
    "KNOWN_MODELS",
    "ChecksumError",
    "DownloadError",
    "InstalledModel",
    "KnownModel",
    "LoadedWeights",
    "ModelInfo",
    "NoWeightsError",
    "UnsafePickleError",
    "WeightsError",
    "deterministic_state_dict",
    "download_model",
    "find_existing_weights",
    "import_model",
    "installed_models",
    "load_generator",
    "load_weights_file",
]
