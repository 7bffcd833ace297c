"""Issue 12: weights files that exhaust memory without running code, and exception types that escaped.

Every crafted file here is small; the point is that the loader refuses it before allocating what it
asks for. Peak memory is measured in a fresh process (ru_maxrss), all cases in one run.
"""

from __future__ import annotations

import collections
import json
import pickle
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from lamapaint.models.safe_pickle import MAX_COPIED_BYTES, open_torch_zip
from lamapaint.inpaint.weights import WeightsError, load_weights_file
from lamapaint.inpaint.weights.checkpoints import generator_layout, storage_budget
from tests.inpaint.test_weights_support import stored, torch_zip_with_pickle, write_raw_zip, zeros_deflated
from tests.shared_data import REPO_ROOT

#: Peak-memory growth allowed for refusing all the crafted files together (torch is imported before).
RSS_BOUND_MB = 150


class _Storage:
    def __init__(self, key: str, numel: int) -> None:
        self.key, self.numel = key, numel


class _Tensor:
    """Pickles as torch.save writes a float32 tensor: ``_rebuild_tensor_v2`` over a persistent storage id."""

    def __init__(self, storage: _Storage, shape: tuple[int, ...]) -> None:
        self.storage, self.shape = storage, shape

    def __reduce__(self) -> tuple:
        stride = tuple(int(torch.Size(self.shape[i + 1 :]).numel()) for i in range(len(self.shape)))
        return (torch._utils._rebuild_tensor_v2, (self.storage, 0, self.shape, stride, False, collections.OrderedDict()))


class _TorchPickler(pickle.Pickler):
    def persistent_id(self, obj: object) -> object:
        if isinstance(obj, _Storage):
            return ("storage", torch.FloatStorage, obj.key, "cpu", obj.numel)
        return None


def torch_pickle(obj: object) -> bytes:
    import io

    buffer = io.BytesIO()
    _TorchPickler(buffer, protocol=2).dump(obj)
    return buffer.getvalue()


def bytes_list_pickle(n: int) -> bytes:
    """``list(bytes(n))``: two allowed value types, 8n + n bytes from a few dozen."""
    return b"\x80\x02cbuiltins\nlist\ncbuiltins\nbytes\nJ" + struct.pack("<i", n) + b"\x85R\x85R."


def memo_pickle(index: int) -> bytes:
    """One LONG_BINPUT at a huge index: the C unpickler sizes its memo array by it."""
    return b"\x80\x02Nr" + struct.pack("<I", index) + b"."


def copies_pickle(items: int, copies: int) -> bytes:
    """A list of ``items`` Nones, then ``copies`` calls of tuple() on it: items x copies pointers."""
    head = b"\x80\x02cbuiltins\ntuple\nq\x000]q\x01(" + b"N" * items + b"e0](" + b"h\x00h\x01\x85R" * copies
    return head + b"e."


def deflated_storages_zip(path: Path, count: int, nbytes: int) -> Path:
    """``count`` storages of ``nbytes`` zeros each, deflated (~4.5 KB per MiB), under keys that are no generator's."""
    raw, crc = zeros_deflated(nbytes)
    numel = nbytes // 4
    state = {f"t{i}": _Tensor(_Storage(str(i), numel), (numel,)) for i in range(count)}
    members = [(f"archive/data/{i}", raw, crc, nbytes, True) for i in range(count)]
    return torch_zip_with_pickle(path, torch_pickle(state), members)


@pytest.fixture(scope="module")
def bombs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bombs")
    return {
        "list(bytes(3e8))": torch_zip_with_pickle(folder / "bytes.pt", bytes_list_pickle(300_000_000)),
        "memo index 2**26": torch_zip_with_pickle(folder / "memo.pt", memo_pickle(1 << 26)),
        "5000 x tuple(20000 items)": torch_zip_with_pickle(folder / "copies.pt", copies_pickle(20_000, 5000)),
        "1000 x _codecs.encode(1 MB string)": torch_zip_with_pickle(folder / "encode.pt", encode_pickle(1 << 20, 1000)),
        "3 x 256 MiB deflated storages": deflated_storages_zip(folder / "storages.pt", 3, 256 << 20),
    }


_MEASURE = """
import json, resource, sys
from lamapaint.inpaint.weights import WeightsError, load_weights_file
results = {}
for name, path in json.loads(sys.argv[1]).items():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        load_weights_file(path)
        outcome = "loaded"
    except WeightsError as exc:
        outcome = "WeightsError: " + str(exc)
    except BaseException as exc:
        outcome = type(exc).__name__ + ": " + str(exc)
    results[name] = (outcome, (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024)
print(json.dumps(results))
"""


def test_memory_bombs_are_refused_before_allocating(bombs: dict[str, Path]) -> None:
    assert max(path.stat().st_size for path in bombs.values()) < 4 << 20  # small files, all of them
    run = subprocess.run(
        [sys.executable, "-c", _MEASURE, json.dumps({k: str(v) for k, v in bombs.items()})],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=240, check=True,
    )
    results = json.loads(run.stdout)
    print(json.dumps(results, indent=1))  # the figures for the closing note (pytest -s)
    for name, (outcome, _grown_mb) in results.items():
        assert outcome.startswith("WeightsError: "), (name, outcome)
    assert sum(grown for _, grown in results.values()) < RSS_BOUND_MB, results


def test_bytes_and_str_cannot_allocate_from_a_number(tmp_path: Path) -> None:
    for n in (10, 300_000_000):
        with pytest.raises(WeightsError, match="unexpected bytes call"):
            open_torch_zip(torch_zip_with_pickle(tmp_path / f"b{n}.pt", bytes_list_pickle(n)))


def test_copies_are_charged_against_one_budget(tmp_path: Path) -> None:
    assert open_torch_zip(torch_zip_with_pickle(tmp_path / "ok.pt", copies_pickle(100, 10))).root[0] == (None,) * 100
    items = 1000
    with pytest.raises(WeightsError, match="copies more data"):
        open_torch_zip(torch_zip_with_pickle(tmp_path / "many.pt", copies_pickle(items, MAX_COPIED_BYTES // (8 * items) + 1)))


def encode_pickle(chars: int, calls: int) -> bytes:
    """A memoized ``chars``-long string latin1-encoded ``calls`` times: chars x calls bytes."""
    text = b"X" + struct.pack("<I", chars) + b"a" * chars
    head = b"\x80\x02c_codecs\nencode\nq\x00" + text + b"q\x01X\x06\x00\x00\x00latin1q\x020]("
    return head + b"h\x00h\x01h\x02\x86R" * calls + b"e."


def test_repeated_bytes_decoding_is_charged(tmp_path: Path) -> None:
    """``_codecs.encode`` on one memoized string a thousand times: 1 MB of pickle, 1 GB of bytes."""
    assert open_torch_zip(torch_zip_with_pickle(tmp_path / "ok.pt", encode_pickle(10, 3))).root == [b"a" * 10] * 3
    with pytest.raises(WeightsError, match="copies more data"):
        open_torch_zip(torch_zip_with_pickle(tmp_path / "many.pt", encode_pickle(1 << 20, 1000)))


def test_storages_beyond_the_configuration_budget_are_not_read(tmp_path: Path) -> None:
    layout = generator_layout("lama-fourier")
    assert storage_budget("lama-fourier") == sum(torch.Size(s).numel() for s in layout.values()) * 8 + (1 << 20)
    path = tmp_path / "small.pt"
    torch.save({"a": torch.ones(1000)}, path)
    archive = open_torch_zip(path)
    with pytest.raises(WeightsError, match="declare 0 MB of storage, more than this model needs"):
        archive.read_tensors({"a": archive.root["a"]}, max_bytes=3999)
    assert torch.equal(archive.read_tensors({"a": archive.root["a"]}, max_bytes=4000)["a"], torch.ones(1000))


def test_a_generator_storage_declared_huge_is_refused_without_reading(tmp_path: Path) -> None:
    """Right keys and shapes, but every tensor a view into one storage that claims 1 GiB."""
    big = _Storage("0", 1 << 28)
    state = {"generator." + key: _Tensor(big, shape) for key, shape in generator_layout("lama-fourier").items()}
    raw, crc = zeros_deflated(16 << 20)
    path = torch_zip_with_pickle(tmp_path / "huge.pt", torch_pickle({"state_dict": state}), [("archive/data/0", raw, crc, 16 << 20, True)])
    with pytest.raises(WeightsError, match="1074 MB of storage, more than this model needs"):
        load_weights_file(path)


# ---- exception types that escaped ------------------------------------------------------------------


def test_damaged_byteorder_member_is_a_weights_error(tmp_path: Path) -> None:
    """zlib.error escaped: the byteorder member was read outside the try."""
    pkl = torch_pickle({"a": 1})
    path = write_raw_zip(
        tmp_path / "bad.pt",
        [stored("archive/data.pkl", pkl), ("archive/byteorder", b"\xff\xff\xff\xff", 0, 6, True)],
    )
    with pytest.raises(WeightsError, match=str(path)):
        load_weights_file(path)


def test_non_string_state_dict_keys_are_a_weights_error(tmp_path: Path) -> None:
    """AttributeError escaped: ``key.endswith`` on an int key."""
    path = tmp_path / "intkeys.pt"
    torch.save({1: torch.ones(1), "generator.model.1.ffc.convl2l.weight": torch.ones(1)}, path)
    with pytest.raises(WeightsError, match="not a name"):
        load_weights_file(path)


def test_undecodable_member_name_is_a_weights_error(tmp_path: Path) -> None:
    """UnicodeDecodeError escaped from ZipFile: a name flagged UTF-8 that is not."""
    path = write_raw_zip(tmp_path / "name.pt", [stored(b"archive/data\xff\xfe.pkl", b"x"), stored("archive/data.pkl", b"\x80\x02N.")])
    with pytest.raises(WeightsError, match="damaged archive"):
        load_weights_file(path)
    lama_zip = write_raw_zip(tmp_path / "big-lama.zip", [stored(b"big-lama/\xff.yaml", b"x")])
    with pytest.raises(WeightsError):
        load_weights_file(lama_zip)


@pytest.mark.parametrize("target", [b"cbuiltins\nlist\n", b"ctorch._utils\n_rebuild_tensor_v2\n", b"ctorch\nFloatStorage\n"])
def test_a_pickle_cannot_change_the_objects_it_is_given(tmp_path: Path, target: bytes) -> None:
    """BUILD sets attributes: on the list() stand-in it could swap the copy budget for a no-op."""
    state = b"}X\x06\x00\x00\x00budgetNs"  # {"budget": None}
    for build in (state + b"b", b"N" + state + b"\x86b"):  # the __dict__ form and the (None, slots) form
        path = torch_zip_with_pickle(tmp_path / "build.pt", b"\x80\x02" + target + build + b".")
        with pytest.raises(WeightsError, match="tries to change a built-in object"):
            open_torch_zip(path)
