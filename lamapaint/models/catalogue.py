"""The published weights this app knows how to download, of every family.

Facts from the LaMa, IOPaint, Segment Anything and MobileSAM projects. Each entry's configuration
says its family (:mod:`lamapaint.models.families`): LaMa generators fill, SAM models select.
"""

from __future__ import annotations

from dataclasses import dataclass

from lamapaint.models.families import family_of_config


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

    @property
    def family(self) -> str | None:
        return family_of_config(self.config)


_LAMA_LICENSE = "Apache-2.0 (advimman/lama)"
_SAM_LICENSE = "Apache-2.0 (facebookresearch/segment-anything)"
_SAM_URL = "https://dl.fbaipublicfiles.com/segment_anything/"
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
    "mobile-sam": KnownModel(
        name="mobile-sam",
        url="https://github.com/Sanster/models/releases/download/MobileSAM/mobile_sam.pt",
        filename="mobile_sam.pt",
        config="vit_t",
        md5="f3c0d8cda613564d499310dab6c812cd",
        sha256=None,
        size=None,
        description="MobileSAM (~39 MB): selects the object under a click or in a box, fast on a CPU",
        license="Apache-2.0 (ChaoningZhang/MobileSAM)",
    ),
    "sam-vit-b": KnownModel(
        name="sam-vit-b",
        url=_SAM_URL + "sam_vit_b_01ec64.pth",
        filename="sam_vit_b_01ec64.pth",
        config="vit_b",
        md5="01ec64d29a2fca3f0661936605ae66f8",
        sha256=None,
        size=None,
        description="Segment Anything ViT-B (~375 MB): finer selections than MobileSAM, several times slower",
        license=_SAM_LICENSE,
    ),
    "sam-vit-l": KnownModel(
        name="sam-vit-l",
        url=_SAM_URL + "sam_vit_l_0b3195.pth",
        filename="sam_vit_l_0b3195.pth",
        config="vit_l",
        md5="0b3195507c641ddb6910d2bb5adee89c",
        sha256=None,
        size=None,
        description="Segment Anything ViT-L (~1.2 GB)",
        license=_SAM_LICENSE,
    ),
    "sam-vit-h": KnownModel(
        name="sam-vit-h",
        url=_SAM_URL + "sam_vit_h_4b8939.pth",
        filename="sam_vit_h_4b8939.pth",
        config="vit_h",
        md5="4b8939a88964f0f4ff5f5b2642c598a6",
        sha256=None,
        size=None,
        description="Segment Anything ViT-H (~2.4 GB): the largest and slowest",
        license=_SAM_LICENSE,
    ),
}


def known_model_for_file(filename: str) -> KnownModel | None:
    """The catalogue entry a file on disk was downloaded as (IOPaint keeps the release file names)."""
    return next((spec for spec in KNOWN_MODELS.values() if spec.filename == filename), None)


#: The selection model offered by default (the first time the Select tool is chosen, ``select --model auto``).
DEFAULT_SELECT_MODEL = "mobile-sam"
