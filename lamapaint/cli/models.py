"""``lamapaint-cli models``: list, download and import weights of both families (see docs/ARCHITECTURE.md, Weights).

LaMa generators fill (``remove``), Segment Anything models select (``select``). A file's family is
told from its keys (:mod:`lamapaint.models.families`), a catalogue name's from its entry. Torch is
imported only when a command runs, so ``lamapaint-cli --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TextIO

from lamapaint.cli.errors import EXIT_MODEL, EXIT_NETWORK, EXIT_OK, EXIT_OUTPUT, CliError


def add_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    p = sub.add_parser("models", help="list, download and import LaMa (fill) and Segment Anything (select) weights")
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    actions.add_parser("list", help="installed models, weights found on disk, and models to download")
    download = actions.add_parser("download", help="download, verify and install a known model")
    download.add_argument("name", help="a model name from `models list` (e.g. big-lama, mobile-sam)")
    download.add_argument("--url", help="download from this URL instead (a mirror)")
    imp = actions.add_parser("import", help="validate a weights file you have and install it")
    imp.add_argument("path", help=".ckpt, .pt (incl. IOPaint's TorchScript), .pth, .safetensors or big-lama.zip; LaMa or SAM, told from its keys")
    imp.add_argument("--name", help="install under this name (default: from the file name or configuration)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from lamapaint.models.errors import DownloadError, WeightsError

    try:
        if args.action == "download":
            return _download(args.name, args.url)
        if args.action == "import":
            return _import(args.path, args.name)
        return _list(sys.stdout)
    except DownloadError as exc:
        raise CliError(str(exc), EXIT_NETWORK) from exc
    except WeightsError as exc:
        if isinstance(exc.__cause__, OSError):  # the model could not be stored (disk full, permissions)
            raise CliError(str(exc), EXIT_OUTPUT) from exc
        raise CliError(str(exc), EXIT_MODEL) from exc


class ProgressPrinter:
    """A ProgressCallback for stderr: a redrawn bar on a terminal, a line per 10 % elsewhere (logs, pipes)."""

    WIDTH = 30

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self._last_step = -1
        self._last_draw = 0.0
        self._drawn = False

    def __call__(self, fraction: float, message: str) -> None:
        fraction = min(max(fraction, 0.0), 1.0)
        if self.tty:
            now = time.monotonic()
            if now - self._last_draw < 0.1 and fraction < 1.0:
                return
            self._last_draw = now
            filled = round(fraction * self.WIDTH)
            bar = "#" * filled + "-" * (self.WIDTH - filled)
            self.stream.write(f"\r[{bar}] {fraction:4.0%} {message}\x1b[K")
            self._drawn = True
        else:
            step = int(fraction * 10)
            if step == self._last_step:
                return
            self._last_step = step
            self.stream.write(f"{fraction:4.0%} {message}\n")
        self.stream.flush()

    def finish(self) -> None:
        if self.tty and self._drawn:
            self.stream.write("\n")
            self.stream.flush()


def _download(name: str, url: str | None) -> int:
    from lamapaint.models.families import SAM
    from lamapaint.models.install import known_model

    printer = ProgressPrinter(sys.stderr)
    try:
        if known_model(name).family == SAM:
            from lamapaint.select.weights import download_sam

            path = download_sam(name, progress=printer, url_override=url)
        else:
            from lamapaint.inpaint.weights import download_model

            path = download_model(name, progress=printer, url_override=url)
    finally:
        printer.finish()
    print(f"Installed {name} ({_installed_config(path)}) as {path}")
    return EXIT_OK


def _import(path: str, name: str | None) -> int:
    from lamapaint.models.families import SAM, family_of_file

    if family_of_file(path) == SAM:
        from lamapaint.select.weights import import_sam

        target = import_sam(path, name=name)
    else:  # LaMa, or unknown: the LaMa loader says what the file lacks
        from lamapaint.inpaint.weights import import_model

        target = import_model(path, name=name)
    print(f"Installed {target.stem} ({_installed_config(target)}) as {target}")
    return EXIT_OK


def _installed_config(path: Path) -> str:
    from lamapaint.models.store import META_PREFIX, read_header

    return read_header(path)[0].get(f"{META_PREFIX}config", "?")


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


def _list(out: TextIO) -> int:
    from lamapaint.inpaint.weights import KNOWN_MODELS, installed_models
    from lamapaint.select.weights import installed_sam_models
    from lamapaint.settings import app_paths

    models = installed_models()
    installed = [m for m in models if m.installed]
    found = [m for m in models if not m.installed]
    out.write(f"Installed models (in {app_paths().models_dir}):\n")
    if not installed:
        out.write("  none: run `lamapaint-cli models download big-lama`\n")
    for m in installed:
        sha = m.sha256[:12] if m.sha256 else "?"
        size = _megabytes(m.size_bytes)
        out.write(f"  {m.name:<24} {m.config or '?':<13} {size:>10}  sha256 {sha}  from {m.source or '?'}\n")
    if found:
        out.write("Found on disk, not imported yet (`lamapaint-cli models import PATH`; used when nothing is installed):\n")
        for m in found:
            out.write(f"  {m.name:<24} {m.config or '?':<13} {_megabytes(m.size_bytes):>10}  {m.path}\n")
    out.write("Selection models (Segment Anything, for `select`):\n")
    selection = installed_sam_models()
    if not selection:
        out.write("  none: `select` uses the classical select; `lamapaint-cli models download mobile-sam` selects better\n")
    for model in selection:
        sha = model.sha256[:12] if model.sha256 else "?"
        out.write(f"  {model.name:<24} {model.config:<13} {_megabytes(model.size_bytes):>10}  sha256 {sha}  from {model.source or '?'}\n")
    out.write("Available to download (`lamapaint-cli models download NAME`):\n")
    for spec in KNOWN_MODELS.values():
        out.write(f"  {spec.name:<24} {spec.description}. Licence: {spec.license}\n")
    return EXIT_OK
