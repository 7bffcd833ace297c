"""``lamapaint-cli select``: the mask of the object under a click or in a box (white = remove).

``select PHOTO --point X,Y [--point X,Y ...] [--exclude X,Y ...] [--box X0,Y0,X1,Y1] -o MASK.png``.
Coordinates are pixels of the upright photo (EXIF orientation applied), as ``remove`` masks are,
and the mask has the photo's upright size. With a Segment Anything model installed (``lamapaint-cli
models download mobile-sam``) that model selects; without one, the classical select does (GrabCut
for a box, the similar-colour wand for points) and says so once. ``remove PHOTO --point ... -o OUT``
selects the same way, then removes.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np

from lamapaint.cli.errors import EXIT_EXISTS, EXIT_INPUT, EXIT_MODEL, EXIT_OK, EXIT_OUTPUT, EXIT_USAGE, CliError


def _pair(text: str) -> tuple[float, float]:
    return _numbers(text, 2, "X,Y")  # type: ignore[return-value]


def _box(text: str) -> tuple[float, float, float, float]:
    return _numbers(text, 4, "X0,Y0,X1,Y1")  # type: ignore[return-value]


def _numbers(text: str, count: int, form: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.replace(" ", "").split(","))
    except ValueError:
        values = ()
    if len(values) != count:
        raise argparse.ArgumentTypeError(f"expected {form} (numbers separated by commas), got {text!r}")
    return values


def add_prompt_arguments(p: argparse.ArgumentParser, model_flag: str, weights_flag: str, grow_help: str) -> None:
    """The prompt options, shared by ``select`` and ``remove`` (whose --model names the fill model)."""
    p.add_argument("--point", type=_pair, action="append", default=[], metavar="X,Y", help="a pixel on the object (repeat for more)")
    p.add_argument("--exclude", type=_pair, action="append", default=[], metavar="X,Y", help="a pixel that is not part of it (repeat for more)")
    p.add_argument("--box", type=_box, metavar="X0,Y0,X1,Y1", help="a box around the object")
    p.add_argument(model_flag, dest="select_model", default="auto", metavar="NAME",
                   help="auto (the fastest installed SAM model, else the classical select), classical, or a model name: mobile-sam, sam-vit-b, ...")
    p.add_argument(weights_flag, dest="select_weights", type=Path, metavar="FILE", help="select with this SAM weights file")
    p.add_argument("--grow", type=int, default=None, metavar="N", help=grow_help)


def has_prompts(args: argparse.Namespace) -> bool:
    return bool(args.point or args.exclude or args.box)


def add_parser(sub: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    from lamapaint.models.types import DEVICES, PRECISIONS

    p = sub.add_parser(
        "select",
        help="write the mask of the object under a point or in a box",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
    )
    p.add_argument("photo", type=Path, metavar="PHOTO")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="MASK.png", help="the mask to write (PNG, white = remove)")
    add_prompt_arguments(p, "--model", "--weights", "grow (or shrink, when negative) the mask by N pixels (default 0)")
    p.add_argument("--device", default="auto", help=f"{', '.join(DEVICES)} or cuda:N (default auto)")
    p.add_argument("--precision", default="auto", choices=list(PRECISIONS))
    p.add_argument("--overwrite", action="store_true", help="replace an existing mask file")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from lamapaint.io.images import ImageLoadError, load_image

    out: Path = args.output
    if out.suffix.lower() != ".png":
        raise CliError(f"{out}: the mask is written as PNG; name it MASK.png", EXIT_USAGE)
    if out.is_dir():
        raise CliError(f"{out} is a folder; give the mask's file name", EXIT_USAGE)
    if out.exists() and not args.overwrite:
        raise CliError(f"{out} already exists; use --overwrite to replace it", EXIT_EXISTS)
    if not has_prompts(args):
        raise CliError("nothing to select: give --point X,Y on the object or --box X0,Y0,X1,Y1 around it", EXIT_USAGE)
    try:
        photo = load_image(args.photo)
    except ImageLoadError as exc:
        raise CliError(str(exc), EXIT_INPUT) from exc
    started = time.perf_counter()
    say = (lambda _line: None) if args.quiet else (lambda line: print(f"lamapaint-cli: {line}", file=sys.stderr))
    mask = prompt_mask(args, photo.rgb, grow_default=0, device=args.device, precision=args.precision, say=say)
    _write_png(out, mask)
    if not args.quiet:
        share = 100.0 * np.count_nonzero(mask) / mask.size
        print(f"{out.name}: {share:.1f} % of the {photo.width}x{photo.height} photo selected in {time.perf_counter() - started:.2f} s", file=sys.stderr)
    return EXIT_OK


def prompt_mask(
    args: argparse.Namespace,
    rgb: np.ndarray,
    grow_default: int | None,
    device: str = "auto",
    precision: str = "auto",
    say: Callable[[str], None] = lambda line: None,
) -> np.ndarray:
    """The hole as uint8 0/255 from the prompt options (``--point``, ``--exclude``, ``--box``, ``--grow``).

    The one place prompts become a mask, for ``select`` and for ``remove``.
    ``grow_default`` None grows by the editor's grow step for the photo's size (what ``remove`` wants:
    LaMa fills better when the mask covers the object's soft edge).
    """
    from lamapaint.core.mask import grow_step
    from lamapaint.models.types import EngineError
    from lamapaint.select.errors import SelectError
    from lamapaint.select.prompts import SmallPhotoError, check_prompts
    from lamapaint.select.selector import Selector

    height, width = rgb.shape[:2]
    points = [*args.point, *args.exclude]
    labels = [1] * len(args.point) + [0] * len(args.exclude)
    grow_by = args.grow if args.grow is not None else grow_default if grow_default is not None else grow_step(width, height)
    try:
        check_prompts(points, labels, args.box, (height, width))  # before any model is loaded
        selector = Selector(args.select_model, args.select_weights, device=device, precision=precision)
        selector.set_image(rgb)
        if selector.fallback_reason:
            say(selector.fallback_reason)
        elif selector.info is not None:
            say(f"selecting with {selector.info.name} ({selector.info.config})")
        mask = selector.select(points, labels, args.box, grow_pixels=grow_by)
    except SmallPhotoError as exc:
        raise CliError(str(exc), EXIT_INPUT) from exc
    except SelectError as exc:
        raise CliError(str(exc), EXIT_USAGE) from exc
    except EngineError as exc:  # weights that cannot be used, a device that is not there
        raise CliError(str(exc), EXIT_MODEL) from exc
    if not mask.any():
        say("the selection is empty")
    return mask.view(np.uint8) * np.uint8(255)


def _write_png(path: Path, mask: np.ndarray) -> None:
    from PIL import Image

    from lamapaint.io.atomic import atomic_write

    buffer = io.BytesIO()
    Image.fromarray(mask).save(buffer, format="PNG")
    try:
        with atomic_write(path) as fh:
            fh.write(buffer.getvalue())
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc.strerror or exc}", EXIT_OUTPUT) from exc
