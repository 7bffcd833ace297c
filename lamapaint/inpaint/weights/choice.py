"""Which generator to load: a file the user named, or the best installed model (``auto``)."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import torch

from lamapaint.inpaint.lama import CONFIGS
from lamapaint.inpaint.types import NoWeightsError, WeightsError
from lamapaint.inpaint.weights import conversion_cache
from lamapaint.inpaint.weights.checkpoints import build_checked_generator, load_weights_file
from lamapaint.inpaint.weights.model_store import ModelInfo, import_model, installed_conversion, installed_models, load_converted
from lamapaint.models.store import META_PREFIX, is_safetensors, name_for_file, read_header

log = logging.getLogger(__name__)


def load_generator(
    path: str | os.PathLike[str] | None = None, config: str | None = None
) -> tuple[torch.nn.Module, ModelInfo]:
    """The generator ready for inference (eval, float32, CPU) and what was loaded.

    ``path`` None picks the best installed model (``config`` narrows the choice); when none is
    installed, weights found on disk (IOPaint's cache) are imported first. Any other file is used
    as it is; a converted copy goes to the cache (:mod:`.conversion_cache`) so its next load is
    fast, and the installed models are left alone.
    """
    started = time.perf_counter()
    if config is not None and config not in CONFIGS:
        raise WeightsError(f"unknown configuration {config!r}; expected one of {', '.join(CONFIGS)}")
    if path is None:
        return _load_best(config, started)
    file = Path(path)
    try:
        if not file.is_file():
            raise WeightsError(f"{file}: {'not a regular file' if file.exists() else 'no such file'}")
        own_format = is_safetensors(file) and f"{META_PREFIX}config" in read_header(file)[0]
    except OSError as exc:
        raise WeightsError(f"{file}: cannot read ({exc.strerror or exc})") from None
    if own_format:
        generator, info = load_converted(file, started)
    elif (converted := installed_conversion(file) or conversion_cache.cached_copy(file)) is not None:
        log.info("Using %s, converted earlier from %s", converted, file)
        generator, info = load_converted(converted, started)
    else:
        loaded = load_weights_file(file)
        if config is not None and loaded.config != config:
            raise WeightsError(f"{file}: holds {loaded.config} weights, not {config}")
        generator = build_checked_generator(loaded.config, loaded.state_dict, str(file))
        stored = file
        if loaded.source_format != "safetensors":
            try:
                stored = conversion_cache.store_copy(loaded, file)
            except (OSError, WeightsError) as exc:
                log.warning("Could not store a fast-loading copy of %s: %s", file, exc)
        elapsed = time.perf_counter() - started
        name = name_for_file(file, loaded.config)
        info = ModelInfo(name, loaded.config, stored, loaded.source_format, loaded.sha256, elapsed)
    if config is not None and info.config != config:
        raise WeightsError(f"{file}: holds {info.config} weights, not {config}")
    log.info("Loaded %s (%s) from %s in %.2f s", info.name, info.config, info.path, info.load_seconds)
    return generator, info


def _load_best(config: str | None, started: float) -> tuple[torch.nn.Module, ModelInfo]:
    everything = installed_models()
    for model in everything:
        if model.installed and (config is None or model.config == config):
            return load_converted(model.path, started)
    for model in everything:
        if not model.installed and (config is None or model.config in (None, config)):
            try:
                target = import_model(model.path)
            except WeightsError as exc:
                log.warning("Skipping %s", exc)
                continue
            generator, info = load_converted(target, started)
            if config is None or info.config == config:
                log.info("Imported %s from %s", info.name, model.path)
                return generator, info
    wanted = f"{config} " if config else ""
    raise NoWeightsError(
        f"no {wanted}LaMa weights installed; run `lamapaint-cli models download big-lama` "
        "(or `lamapaint-cli models import FILE` for a file you have)"
    )
