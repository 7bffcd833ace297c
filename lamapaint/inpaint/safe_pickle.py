"""Read tensors out of PyTorch files without running any code they contain.

``torch.save`` and TorchScript files are zip archives: ``<archive>/data.pkl`` is a pickle whose
tensors point (through ``persistent_load`` ids ``('storage', storage_type, key, location, numel)``)
at raw little- or big-endian storages ``<archive>/data/<key>``; ``<archive>/byteorder`` says which.
A pickle can name any importable callable and call it, so a downloaded checkpoint is untrusted
code. :class:`RestrictedUnpickler` resolves only a few names to our own tensor-rebuilding functions
and plain containers; names from modules that can run code (``os``, ``subprocess``, ``builtins.eval``,
...) abort the load; every other class (OmegaConf configs, TorchScript ``__torch__.*`` modules,
pathlib, numpy scalars) becomes an inert :class:`Placeholder` that records its state and never
calls the real class.
"""

from __future__ import annotations

import collections
import logging
import math
import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch

from lamapaint.inpaint.types import UnsafePickleError, WeightsError

log = logging.getLogger(__name__)


#: Modules whose names in a pickle mean "run code": the load stops instead of making a placeholder.
_DANGEROUS_MODULES = frozenset(
    {
        "builtins", "os", "posix", "nt", "subprocess", "sys", "shutil", "socket", "importlib",
        "runpy", "pickle", "_pickle", "marshal", "types", "code", "codeop", "ctypes", "pty",
        "webbrowser", "operator", "functools", "io", "_io", "multiprocessing", "threading",
        "signal", "tempfile", "shlex", "pdb", "timeit", "commands", "platform", "asyncio",
        "torch.hub", "torch.jit", "torch.serialization", "torch.ops", "torch._ops", "torch._C",
    }
)
_PY2_MODULES = {"__builtin__": "builtins", "copy_reg": "copyreg", "exceptions": "builtins"}
#: Plain value types: configs reference them (OmegaConf's ``object_type=dict``); calling them runs no code.
_SAFE_BUILTINS: dict[str, Callable[..., Any]] = {
    t.__name__: t
    for t in (dict, list, tuple, set, frozenset, str, int, float, bool, bytes, complex, slice, object)
}
_STORAGE_DTYPES: dict[str, torch.dtype] = {
    "DoubleStorage": torch.float64,
    "FloatStorage": torch.float32,
    "HalfStorage": torch.float16,
    "BFloat16Storage": torch.bfloat16,
    "LongStorage": torch.int64,
    "IntStorage": torch.int32,
    "ShortStorage": torch.int16,
    "CharStorage": torch.int8,
    "ByteStorage": torch.uint8,
    "BoolStorage": torch.bool,
    "UntypedStorage": torch.uint8,
}
#: torch.dtype objects pickle as ``torch.<name>`` globals (hyper-parameters, _rebuild_tensor_v3).
_DTYPES: dict[str, torch.dtype] = {
    name: getattr(torch, name)
    for name in (
        "float64", "double", "float32", "float", "float16", "half", "bfloat16", "int64", "long",
        "int32", "int", "int16", "short", "int8", "uint8", "uint16", "uint32", "uint64", "bool", "complex64", "cfloat", "complex128", "cdouble",
    )
}
#: Refuse single storages above this (no LaMa tensor comes near it); guards against absurd numel values.
MAX_STORAGE_BYTES = 1 << 31


class Placeholder:
    """Stands in for any class the file names; never calls the real class or its ``__reduce__`` code."""

    qualname: str = "?"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = args
        self.state: Any = None

    def __setstate__(self, state: Any) -> None:
        self.state = state

    # dict and list subclasses (Lightning's AttributeDict, ...) are filled by SETITEMS / APPENDS.
    def __setitem__(self, key: Any, value: Any) -> None:
        self.__dict__.setdefault("items", {})[key] = value

    def append(self, value: Any) -> None:
        self.__dict__.setdefault("values", []).append(value)

    def extend(self, values: Any) -> None:
        for value in values:
            self.append(value)

    def __repr__(self) -> str:
        return f"<placeholder for {self.qualname}>"


_placeholder_types: dict[str, type[Placeholder]] = {}


def _placeholder_type(qualname: str) -> type[Placeholder]:
    """One subclass per name, so collected trees still say what each object was."""
    cls = _placeholder_types.get(qualname)
    if cls is None:
        cls = type("Placeholder", (Placeholder,), {"qualname": qualname, "__slots__": ()})
        _placeholder_types[qualname] = cls
    return cls


@dataclass(frozen=True)
class _StorageType:
    dtype: torch.dtype


@dataclass(frozen=True)
class _Storage:
    """A storage read from the archive: a flat tensor of its dtype."""

    flat: torch.Tensor


def _check_tensor_args(
    storage: Any, offset: Any, size: Any, stride: Any
) -> tuple[_Storage, int, tuple[int, ...], tuple[int, ...]]:
    if not isinstance(storage, _Storage):
        raise WeightsError("tensor without a storage")
    if not isinstance(offset, int) or not isinstance(size, (tuple, list)) or not isinstance(stride, (tuple, list)):
        raise WeightsError("malformed tensor record")
    size_t, stride_t = tuple(size), tuple(stride)
    if len(size_t) != len(stride_t) or not all(isinstance(v, int) and v >= 0 for v in size_t + stride_t):
        raise WeightsError("malformed tensor shape")
    extent = offset + sum((s - 1) * st for s, st in zip(size_t, stride_t)) + 1 if math.prod(size_t) else offset
    if offset < 0 or extent > storage.flat.numel():
        raise WeightsError("tensor reaches outside its storage")
    return storage, offset, size_t, stride_t


def _rebuild_tensor(storage: Any, offset: Any, size: Any, stride: Any, *_rest: Any) -> torch.Tensor:
    """Our stand-in for torch._utils._rebuild_tensor_v2 (and v1): a view into the read storage."""
    st, off, size_t, stride_t = _check_tensor_args(storage, offset, size, stride)
    return st.flat.as_strided(size_t, stride_t, off)


def _rebuild_tensor_v3(
    storage: Any, offset: Any, size: Any, stride: Any, _grad: Any, _hooks: Any, dtype: Any, *_rest: Any
) -> torch.Tensor:
    """Like v2 but the dtype comes separately (untyped storage)."""
    if not isinstance(dtype, torch.dtype) or not isinstance(storage, _Storage):
        raise WeightsError("malformed tensor record")
    raw = storage.flat
    if raw.dtype != dtype:
        if raw.dtype != torch.uint8 or raw.numel() % dtype.itemsize:
            raise WeightsError("storage size does not match its dtype")
        storage = _Storage(raw.view(dtype))
    return _rebuild_tensor(storage, offset, size, stride)


def _rebuild_parameter(data: Any, *_rest: Any) -> Any:
    """Parameters are kept as plain tensors: only the values matter here."""
    return data


def _rebuild_from_type(func: Any, _new_type: Any, args: Any, _state: Any) -> Any:
    """``_rebuild_from_type_v2``: rebuild only when the inner function is one of ours."""
    if func in _REBUILDERS and isinstance(args, tuple):
        return func(*args)
    return _placeholder_type("torch._tensor._rebuild_from_type_v2")()


def _latin1_encode(text: Any, encoding: str = "latin1") -> bytes:
    """Protocol-2 pickles spell bytes as ``_codecs.encode(str, 'latin1')``."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise WeightsError("unexpected _codecs.encode call in pickle")
    return text.encode("latin-1")


_REBUILDERS = {_rebuild_tensor, _rebuild_tensor_v3, _rebuild_parameter}
_ALLOWED: dict[tuple[str, str], Any] = {
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor_v3"): _rebuild_tensor_v3,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch._tensor", "_rebuild_from_type_v2"): _rebuild_from_type,
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("_codecs", "encode"): _latin1_encode,
}


class RestrictedUnpickler(pickle.Unpickler):
    """Resolves globals to our inert stand-ins; storages come from ``load_storage(key, dtype, numel)``."""

    def __init__(self, file: Any, load_storage: Callable[[str, torch.dtype, int], _Storage], source: str) -> None:
        super().__init__(file)
        self._load_storage = load_storage
        self._source = source

    def find_class(self, module: str, name: str) -> Any:
        module = _PY2_MODULES.get(module, module)
        allowed = _ALLOWED.get((module, name))
        if allowed is not None:
            return allowed
        if module == "builtins" and name in _SAFE_BUILTINS:
            return _SAFE_BUILTINS[name]
        if module in ("torch", "torch.storage") and name in _STORAGE_DTYPES:
            return _StorageType(_STORAGE_DTYPES[name])
        if module == "torch" and name in _DTYPES:
            return _DTYPES[name]
        if any(module == bad or module.startswith(bad + ".") for bad in _DANGEROUS_MODULES):
            raise UnsafePickleError(
                f"{self._source}: refused to load: its pickle calls {module}.{name}, which could run code"
            )
        return _placeholder_type(f"{module}.{name}")

    def persistent_load(self, pid: Any) -> Any:
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"):
            raise WeightsError(f"{self._source}: unsupported storage reference in pickle")
        _, storage_type, key, _location, numel = pid[:5]
        if not isinstance(storage_type, _StorageType) or not isinstance(key, str) or not isinstance(numel, int):
            raise WeightsError(f"{self._source}: malformed storage reference in pickle")
        return self._load_storage(key, storage_type.dtype, numel)


@dataclass
class TorchArchive:
    """What :func:`read_torch_zip` found: the unpickled root object and what kind of archive it was."""

    root: Any
    torchscript: bool


def is_torch_zip(path: Path) -> bool:
    """A zip with exactly one top folder holding data.pkl (torch.save >= 1.6 or TorchScript)."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as zf:
        return _find_archive_prefix(zf) is not None


def _find_archive_prefix(zf: zipfile.ZipFile) -> str | None:
    names = [n for n in zf.namelist() if n.endswith("/data.pkl") and n.count("/") == 1]
    return names[0][: -len("data.pkl")] if len(names) == 1 else None


def read_torch_zip(path: Path) -> TorchArchive:
    """Unpickle ``<archive>/data.pkl`` with storages read (copied, byte-swapped if needed) from the zip."""
    source = str(path)
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise WeightsError(f"{source}: not a readable PyTorch zip archive ({exc})") from None
    with zf:
        prefix = _find_archive_prefix(zf)
        if prefix is None:
            raise WeightsError(f"{source}: not a PyTorch archive (no <name>/data.pkl)")
        names = set(zf.namelist())
        byteorder = "little"
        if prefix + "byteorder" in names:
            byteorder = zf.read(prefix + "byteorder").decode("ascii", "replace").strip()
            if byteorder not in ("little", "big"):
                raise WeightsError(f"{source}: unknown byte order {byteorder!r}")
        torchscript = prefix + "constants.pkl" in names or any(n.startswith(prefix + "code/") for n in names)
        cache: dict[str, _Storage] = {}

        def load_storage(key: str, dtype: torch.dtype, numel: int) -> _Storage:
            if key in cache:
                return cache[key]
            member = prefix + "data/" + key
            if "/" in key or ".." in key or member not in names:
                raise WeightsError(f"{source}: storage {key!r} is missing from the archive")
            nbytes = numel * dtype.itemsize
            info = zf.getinfo(member)
            if info.file_size != nbytes or nbytes > MAX_STORAGE_BYTES:
                raise WeightsError(
                    f"{source}: storage {key!r} has {info.file_size} bytes, expected {nbytes}"
                )
            raw = torch.empty(nbytes, dtype=torch.uint8)
            with zf.open(member) as fh:
                if fh.readinto(memoryview(raw.numpy())) != nbytes:
                    raise WeightsError(f"{source}: storage {key!r} is truncated")
            flat = raw.view(dtype)
            if byteorder == "big" and dtype.itemsize > 1:
                flat = torch.from_numpy(flat.numpy().byteswap())
            cache[key] = _Storage(flat)
            return cache[key]

        try:
            with zf.open(prefix + "data.pkl") as fh:
                root = RestrictedUnpickler(fh, load_storage, source).load()
        except WeightsError as exc:
            if str(exc).startswith(source):
                raise
            raise type(exc)(f"{source}: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - any malformed pickle becomes one clear error
            raise WeightsError(f"{source}: unreadable checkpoint pickle ({type(exc).__name__}: {exc})") from None
    log.debug("read %s (%s, %d storages)", source, "TorchScript" if torchscript else "torch.save", len(cache))
    return TorchArchive(root=root, torchscript=torchscript)


def placeholder_tensors(obj: Any, prefix: str = "") -> dict[str, torch.Tensor]:
    """Tensors in a TorchScript module tree by attribute path (``model.generator.model.1...``)."""
    found: dict[str, torch.Tensor] = {}
    stack: list[tuple[str, Any]] = [(prefix, obj)]
    seen: set[int] = set()
    while stack:
        path, node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, Placeholder):
            node = node.state
        if not isinstance(node, dict):
            continue
        for key, value in node.items():
            if not isinstance(key, str):
                continue
            name = f"{path}{key}"
            if isinstance(value, torch.Tensor):
                found[name] = value
            elif isinstance(value, (Placeholder, dict)):
                stack.append((name + ".", value))
    return found
