"""The published LaMa weights this app knows how to download (facts from the LaMa and IOPaint projects)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KnownModel:
    name: str
    url: str
    filename: str
    config: str
    md5: str | None
    sha256: str | None
    size: int | None
    description: str
    license: str


_LAMA_LICENSE = "Apache-2.0 (advimman/lama)"
#: Where the published weights live.
KNOWN_MODELS: dict[str, KnownModel] = {
    "big-lama": KnownModel(
        name="big-lama",
        url="https://github.com/Sanster/models/releases/download/add_big_lama/big-lama.pt",
        filename="big-lama.pt",
        config="big-lama",
        md5="e3aa4aaa15225a33ec84f9f4bc47e500",
        sha256=None,
        size=None,
        description="Big LaMa, TorchScript export as used by IOPaint/lama-cleaner (checksum published)",
        license=_LAMA_LICENSE,
    ),
    "anime-manga-big-lama": KnownModel(
        name="anime-manga-big-lama",
        url="https://github.com/Sanster/models/releases/download/add_big_lama/anime-manga-big-lama.pt",
        filename="anime-manga-big-lama.pt",
        config="big-lama",
        md5="29f284f36a0a510bcacf39ecf4c4d54f",
        sha256=None,
        size=None,
        description="Big LaMa fine-tuned on anime and manga (IOPaint release)",
        license=_LAMA_LICENSE,
    ),
    "big-lama-official": KnownModel(
        name="big-lama-official",
        url="https://huggingface.co/smartywu/big-lama/resolve/main/big-lama.zip",
        filename="big-lama.zip",
        config="big-lama",
        md5=None,
        sha256=None,
        size=None,
        description="Big LaMa, the official release archive (no published checksum; structure checked)",
        license=_LAMA_LICENSE,
    ),
}


def known_model_for_file(filename: str) -> KnownModel | None:
    """The catalogue entry a file on disk was downloaded as (IOPaint keeps the release file names)."""
    return next((spec for spec in KNOWN_MODELS.values() if spec.filename == filename), None)
