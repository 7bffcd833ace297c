"""``lamapaint-cli remove``: fill the masked area of a photo, or of every photo in a folder.

Single file: ``remove PHOTO --mask MASK -o OUT``, or ``remove PHOTO --point X,Y -o OUT`` (and
``--exclude``, ``--box``, as ``select`` takes them) to select the object and remove it in one run. Folder: ``remove PHOTOS/ --mask MASKS/ -o OUTDIR/``;
each photo's mask is, in this order, ``<stem>_mask.png``, ``<stem>.png`` or the only ``<stem>__*.png``
in the mask folder, and the result is ``OUTDIR/<photo file name>`` (``OUTDIR/<stem>.png`` for a
format that cannot be written: .bmp, .heic, .heif). ``remove PHOTOS/ --mask ONE_MASK.png -o OUTDIR/``
uses one mask for every photo (sensor dust, a watermark, a series from a tripod); photos of
another size fail with their own line. A mask is any image of the photo's size; a pixel is a
hole where any colour channel is non-zero (a mask of one colour with varying transparency: where
it is not fully transparent). The photo is used
upright (EXIF orientation applied), so the mask must be drawn on the upright photo. The model is
loaded once per run. Existing outputs are only replaced with ``--overwrite``. In folder mode a
photo that fails (unreadable photo or mask, a failed fill, an output that cannot be written) gets
one line on stderr and the others are still done (exit 1).

A reader thread decodes each photo (and reads a JPEG's coefficients for the block-wise save) while
the main thread does work that leaves a core idle: importing torch and loading the model for the
first photo, encoding the previous result for the next ones. It never runs during inference, which
uses every core.
"""

from __future__ import annotations

import argparse
import errno
import logging
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from lamapaint.cli.errors import EXIT_EXISTS, EXIT_INPUT, EXIT_MODEL, EXIT_OK, EXIT_OUTPUT, EXIT_PARTIAL, EXIT_USAGE, CliError
from lamapaint.cli.select import add_prompt_arguments, has_prompts, prompt_mask

if TYPE_CHECKING:
    from lamapaint.inpaint.types import Backend, InpaintOptions
    from lamapaint.io.export import ExportOptions
    from lamapaint.io.images import LoadedImage
    from lamapaint.io.jpeg_blocks import BlockSource

log = logging.getLogger(__name__)

PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp", ".heic", ".heif")
#: Why writing failed, in the user's words (the rest use the system's message).
_WRITE_FAILURES = {
    errno.ENOSPC: "disk full",
    errno.EDQUOT: "disk quota exceeded",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EROFS: "read-only file system",
}


@dataclass(frozen=True)
class Job:
    photo: Path
    mask: Path | None  # None: selected from the prompt options
    out: Path


@dataclass(frozen=True)
class JobInputs:
    photo: "LoadedImage"
    mask: np.ndarray
    block_source: "BlockSource | None"


def add_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    from lamapaint.inpaint.regions import DEFAULT_WORK_PIXELS
    from lamapaint.inpaint.types import MODELS, PRECISIONS, STRATEGIES

    p = sub.add_parser(
        "remove",
        help="remove the masked area of a photo (or of every photo in a folder)",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
    )
    p.add_argument("photo", type=Path, metavar="PHOTO", help="a photo, or a folder of photos")
    p.add_argument("--mask", type=Path, help="the hole mask (non-zero = remove); for a folder of photos, a folder of masks or one mask for all; or select with --point/--box")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="OUT", help="output file, or folder in folder mode")
    p.add_argument("--model", default="auto", choices=list(MODELS))
    p.add_argument("--weights", type=Path, help="use this weights file instead of the installed models")
    p.add_argument("--strategy", default="auto", choices=list(STRATEGIES), help="see docs/PIPELINE.md (default auto)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps (default auto)")
    p.add_argument("--precision", default="auto", choices=list(PRECISIONS))
    p.add_argument("--threads", type=int, default=0, help="CPU threads (default 0 = all cores available)")
    p.add_argument(
        "--work-pixels", type=int, default=0,
        help=f"pixels per forward pass for auto/resize (default 0 = {DEFAULT_WORK_PIXELS}, lowered to fit free memory)",
    )
    p.add_argument("--quality", type=int, default=95, help="JPEG/WebP quality 1-100 (default 95)")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    add_prompt_arguments(p, "--select-model", "--select-weights", "grow the selected mask by N pixels (default: the editor's grow step, 1/500 of the long side)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if not 1 <= args.quality <= 100:
        raise CliError(f"--quality must be between 1 and 100, not {args.quality}", EXIT_USAGE)
    if args.threads < 0:
        raise CliError(f"--threads must be 0 or more, not {args.threads}", EXIT_USAGE)
    folder_mode = args.photo.is_dir()
    if has_prompts(args) == (args.mask is not None) or (folder_mode and has_prompts(args)):
        raise CliError("give --mask MASK, or select the object with --point X,Y / --box X0,Y0,X1,Y1 (single photos)", EXIT_USAGE)
    refused: list[tuple[Path, str]] = []
    jobs = _folder_jobs(args, refused) if folder_mode else [_single_job(args)]
    for photo, message in refused:
        print(f"lamapaint-cli: {photo.name}: {message}", file=sys.stderr)
    failures = len(refused)
    total = len(jobs) + len(refused)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="lamapaint-reader") as reader:
        pending = {0: reader.submit(_load_inputs, jobs[0], args)}

        def read_next(index: int) -> None:
            if index < len(jobs):
                pending[index] = reader.submit(_load_inputs, jobs[index], args)

        backend, options = _backend(args)
        for index, job in enumerate(jobs):
            if folder_mode and not args.quiet:
                _progress_bar(index, len(jobs), job.photo.name)
            try:
                _remove_one(job, pending.pop(index), backend, options, args, lambda: read_next(index + 1))
            except Exception as exc:  # noqa: BLE001 - one photo's failure, whatever it is, must not stop the others
                if not folder_mode:
                    raise
                failures += 1
                if isinstance(exc, CliError):
                    log.debug("%s failed", job.photo, exc_info=args.verbose)
                else:
                    log.warning("%s failed unexpectedly", job.photo, exc_info=args.verbose)
                print(f"\nlamapaint-cli: {job.photo.name}: {_one_line(exc)}", file=sys.stderr)
    if folder_mode and not args.quiet:
        _progress_bar(len(jobs), len(jobs), "done")
        print(file=sys.stderr)
    if failures:
        print(f"lamapaint-cli: {failures} of {total} photos failed", file=sys.stderr)
        return EXIT_PARTIAL
    return EXIT_OK


def _one_line(exc: BaseException) -> str:
    """An exception's message on one line of reasonable length (the type's name when it has none)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def _output_name(photo: Path) -> str:
    """The photo's own name where its format can be written, else ``<stem>.png`` (BMP, HEIC, HEIF)."""
    from lamapaint.io.export import ExportError, format_for

    try:
        format_for(photo)
    except ExportError:
        return f"{photo.stem}.png"
    return photo.name


def _check_output_format(out: Path) -> None:
    from lamapaint.io.export import ExportError, format_for

    try:
        format_for(out)
    except ExportError as exc:
        raise CliError(str(exc), EXIT_USAGE) from exc


def _write_failure(path: Path, exc: OSError) -> CliError:
    reason = _WRITE_FAILURES.get(exc.errno or -1) or exc.strerror or str(exc)
    return CliError(f"cannot write {path}: {reason}", EXIT_OUTPUT)


def _single_job(args: argparse.Namespace) -> Job:
    if not args.photo.exists():
        raise CliError(f"{args.photo} does not exist", EXIT_INPUT)
    if args.mask is not None and not args.mask.is_file():
        raise CliError(f"mask {args.mask} does not exist or is not a file", EXIT_INPUT)
    if args.output.is_dir():
        raise CliError(f"{args.output} is a folder; give an output file name (folders are for folder mode)", EXIT_USAGE)
    _check_output_format(args.output)
    if args.output.exists() and not args.overwrite:
        raise CliError(f"{args.output} already exists; use --overwrite to replace it", EXIT_EXISTS)
    return Job(args.photo, args.mask, args.output)


def _folder_jobs(args: argparse.Namespace, refused: list[tuple[Path, str]]) -> list[Job]:
    """One job per photo with a mask; photos whose output another photo already writes go to ``refused``.

    ``--mask`` is a folder of masks, or one mask file that every photo uses."""
    one_mask = args.mask.is_file()
    if not one_mask and not args.mask.is_dir():
        raise CliError(f"PHOTO is a folder, so --mask must be a folder of masks or one mask file ({args.mask} is neither)", EXIT_USAGE)
    if args.output.exists() and not args.output.is_dir():
        raise CliError(f"PHOTO is a folder, so -o must be a folder too ({args.output} is a file)", EXIT_USAGE)
    photos = sorted(p for p in args.photo.iterdir() if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES)
    jobs: list[Job] = []
    missing: list[str] = []
    writers: dict[str, Path] = {}
    for photo in photos:
        if one_mask and photo.resolve() == args.mask.resolve():
            continue  # the mask itself, kept beside the photos
        mask = args.mask if one_mask else find_mask(photo, args.mask)
        if mask is None:
            missing.append(photo.name)
            continue
        name = _output_name(photo)
        first = writers.setdefault(name.lower(), photo)
        if first != photo:
            refused.append((photo, f"not done: its output {name} is also {first.name}'s; rename one of them"))
            continue
        jobs.append(Job(photo, mask, args.output / name))
    if missing:
        log.warning("no mask for %d photo(s): %s", len(missing), ", ".join(missing))
        if not args.quiet:
            print(f"lamapaint-cli: skipping {len(missing)} photo(s) without a mask: {', '.join(missing)}", file=sys.stderr)
    if not jobs:
        raise CliError(f"no photo in {args.photo} has a mask in {args.mask} (see `remove --help` for the naming rule)", EXIT_INPUT)
    try:
        args.output.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _write_failure(args.output, exc) from exc
    return jobs


def find_mask(photo: Path, mask_dir: Path) -> Path | None:
    """``<stem>_mask.png``, else ``<stem>.png`` (not the photo itself), else the only ``<stem>__*.png``."""
    for name in (f"{photo.stem}_mask.png", f"{photo.stem}.png"):
        candidate = mask_dir / name
        if candidate.is_file() and candidate.resolve() != photo.resolve():
            return candidate
    kinds = sorted(mask_dir.glob(f"{photo.stem}__*.png"))
    return kinds[0] if len(kinds) == 1 else None


def _backend(args: argparse.Namespace) -> tuple["Backend", "InpaintOptions"]:
    from lamapaint.inpaint.backends import create_backend
    from lamapaint.inpaint.types import InpaintError, InpaintOptions

    try:
        options = InpaintOptions(
            model=args.model,
            weights=args.weights,
            strategy=args.strategy,
            device=args.device,
            precision=args.precision,
            threads=args.threads,
            work_pixels=args.work_pixels,
        )
        backend = create_backend(options)
    except InpaintError as exc:
        raise CliError(str(exc), EXIT_MODEL) from exc
    if backend.fallback_reason and not args.quiet:
        print(f"lamapaint-cli: {backend.fallback_reason}", file=sys.stderr)
    return backend, options


def load_mask(path: Path) -> np.ndarray:
    """The hole as uint8 0/255: a pixel is a hole where any colour channel is non-zero."""
    from lamapaint.io.images import ImageLoadError
    from lamapaint.io.images import load_mask as read_mask

    try:
        return read_mask(path)
    except ImageLoadError as exc:
        raise CliError(f"cannot read mask: {exc}", EXIT_INPUT) from exc


def _load_inputs(job: Job, args: argparse.Namespace) -> JobInputs:
    """Decode the photo and its mask and check their sizes (runs in the reader thread)."""
    from lamapaint.io.export import read_block_source
    from lamapaint.io.images import ImageLoadError, load_image

    try:
        photo = load_image(job.photo)
    except ImageLoadError as exc:
        raise CliError(str(exc), EXIT_INPUT) from exc
    mask = load_mask(job.mask) if job.mask is not None else _selected(args, photo.rgb)
    if mask.shape != photo.rgb.shape[:2]:
        raise CliError(
            f"mask {job.mask.name} is {mask.shape[1]}x{mask.shape[0]} but photo {job.photo.name} is "
            f"{photo.width}x{photo.height} (upright); they must be the same size",
            EXIT_INPUT,
        )
    return JobInputs(photo, mask, read_block_source(job.out, photo, _export_options(args)))


def _selected(args: argparse.Namespace, rgb: np.ndarray) -> np.ndarray:
    """The hole the prompt options select (the same as ``lamapaint-cli select``), grown for the fill."""
    say = (lambda _line: None) if args.quiet else (lambda line: print(f"lamapaint-cli: {line}", file=sys.stderr))
    return prompt_mask(args, rgb, grow_default=None, device=args.device, precision=args.precision, say=say)


def _export_options(args: argparse.Namespace) -> "ExportOptions":
    from lamapaint.io.export import ExportOptions

    return ExportOptions(quality=args.quality, overwrite=args.overwrite)


def _remove_one(
    job: Job,
    inputs: "Future[JobInputs]",
    backend: "Backend",
    options: "InpaintOptions",
    args: argparse.Namespace,
    read_next: Callable[[], None],
) -> None:
    """Fill one photo; ``read_next`` starts reading the next photo once this one's inference is over."""
    from lamapaint.inpaint.types import InpaintError, run_brief, run_summary
    from lamapaint.io.export import ExportDestinationExists, ExportError, export_image

    started = time.perf_counter()
    try:
        if job.out.exists() and not args.overwrite:
            raise CliError(f"{job.out} already exists; use --overwrite to replace it", EXIT_EXISTS)
        loaded = inputs.result()
        try:
            result, run = backend.inpaint(loaded.photo.rgb, loaded.mask, options)
        except InpaintError as exc:
            raise CliError(str(exc), EXIT_MODEL) from exc
    finally:
        read_next()
    try:
        report = export_image(job.out, result, loaded.photo, _export_options(args), loaded.mask != 0, loaded.block_source)
    except ExportDestinationExists as exc:
        raise CliError(str(exc), EXIT_EXISTS) from exc
    except ExportError as exc:
        if isinstance(exc.__cause__, OSError):
            raise _write_failure(job.out, exc.__cause__) from exc
        raise CliError(str(exc), EXIT_INPUT) from exc
    if not args.quiet and not args.photo.is_dir():
        total = time.perf_counter() - started
        print(f"{job.out.name}: {report.summary}", file=sys.stderr)
        print(f"{run_summary(run)}: {run_brief(run)}; {total:.2f} s in all -> {job.out}", file=sys.stderr)


def _progress_bar(done: int, total: int, label: str, width: int = 30) -> None:
    filled = width * done // max(1, total)
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {label[:40]:<40}")
    sys.stderr.flush()
