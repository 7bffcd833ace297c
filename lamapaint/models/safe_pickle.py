"""Read tensors out of PyTorch files without running any code they contain, in bounded memory.

``torch.save`` and TorchScript files are zip archives: ``<archive>/data.pkl`` is a pickle whose
tensors point (through ``persistent_load`` ids ``('storage', storage_type, key, location, numel)``)
at raw little- or big-endian storages ``<archive>/data/<key>``; ``<archive>/byteorder`` says which.
A pickle can name any importable callable and call it, so a downloaded checkpoint is untrusted
code. :class:`RestrictedUnpickler` resolves only a few names to our own tensor-record functions
and plain containers; names from modules that can run code (``os``, ``subprocess``, ``builtins.eval``,
...) abort the load; every other class (OmegaConf configs, TorchScript ``__torch__.*`` modules,
pathlib, numpy scalars) becomes an inert :class:`Placeholder` that records its state and never
calls the real class.

A pickle can also ask for memory without naming anything dangerous (``bytes(10**9)``, a memo index
of 2**31, a million copies of one list). So the pickle is size-capped and scanned op by op before it
is unpickled (:data:`MAX_PICKLE_BYTES`, :data:`MAX_PICKLE_OPS`, memo indices), the value types it
may call refuse size arguments and are charged for what they copy (:data:`MAX_COPIED_ITEMS`), and
unpickling reads no storage at all: tensors come back as :class:`TensorRecord` declarations, and
:meth:`TorchArchive.read_tensors` reads only the storages the caller asks for, after the caller has
checked the keys and shapes, within a byte budget it gives.
"""

from __future__ import annotations

import collections
import io
import logging
import math
import pickle
import pickletools
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import torch

from lamapaint.models.errors import UnsafePickleError, WeightsError

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

#: A LaMa checkpoint's pickle is ~140 KB and ~40 000 ops (big-lama, torch.save and TorchScript alike).
MAX_PICKLE_BYTES = 16 << 20
MAX_PICKLE_OPS = 1_000_000
#: Bytes the pickle's calls may copy in one load, in all (list(...), dict(...), _codecs.encode(...);
#: a container item counts 8 bytes, a character 1): repeated calls on one memoized object add up.
MAX_COPIED_BYTES = 64 << 20
#: Distinct class names one pickle may mention (a TorchScript big-lama names a few dozen).
MAX_CLASS_NAMES = 4096
#: Refuse single storages above this (no LaMa tensor comes near it).
MAX_STORAGE_BYTES = 1 << 31
_MEMO_OPS = frozenset({"PUT", "BINPUT", "LONG_BINPUT"})


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


class _Sealed:
    """Pickles can BUILD (set attributes of) any object they hold; what we hand them refuses that."""

    __slots__ = ()

    def __setstate__(self, _state: Any) -> None:
        raise WeightsError("its pickle tries to change a built-in object")

    def __setattr__(self, _name: str, _value: Any) -> None:
        raise WeightsError("its pickle tries to change a built-in object")


class _StorageType(_Sealed):
    __slots__ = ("dtype",)

    def __init__(self, dtype: torch.dtype) -> None:
        object.__setattr__(self, "dtype", dtype)


class _Function(_Sealed):
    """One of our rebuild functions as the pickle sees it."""

    __slots__ = ("function",)

    def __init__(self, function: Callable[..., Any]) -> None:
        object.__setattr__(self, "function", function)

    def __call__(self, *args: Any) -> Any:
        return self.function(*args)


@dataclass(frozen=True)
class StorageRef:
    """A storage as the pickle declares it (``<archive>/data/<key>``, ``numel`` items of ``dtype``); not read."""

    key: str
    dtype: torch.dtype
    numel: int

    @property
    def nbytes(self) -> int:
        return self.numel * self.dtype.itemsize


@dataclass(frozen=True)
class TensorRecord:
    """A tensor as the pickle declares it: a view of ``shape``/``stride`` at ``offset`` into its storage."""

    storage: StorageRef
    dtype: torch.dtype
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]


def _record(storage: Any, offset: Any, size: Any, stride: Any, dtype: torch.dtype | None = None) -> TensorRecord:
    if not isinstance(storage, StorageRef):
        raise WeightsError("tensor without a storage")
    if type(offset) is not int or not isinstance(size, (tuple, list)) or not isinstance(stride, (tuple, list)):
        raise WeightsError("malformed tensor record")
    size_t, stride_t = tuple(size), tuple(stride)
    if len(size_t) != len(stride_t) or len(size_t) > 8 or not all(type(v) is int and v >= 0 for v in size_t + stride_t):
        raise WeightsError("malformed tensor shape")
    dtype = storage.dtype if dtype is None else dtype
    if storage.dtype == dtype:
        items = storage.numel
    elif storage.dtype == torch.uint8 and storage.numel % dtype.itemsize == 0:
        items = storage.numel // dtype.itemsize  # an untyped storage viewed as dtype (v3)
    else:
        raise WeightsError("storage size does not match its dtype")
    extent = offset + sum((s - 1) * st for s, st in zip(size_t, stride_t, strict=True)) + 1 if math.prod(size_t) else offset
    if offset < 0 or extent > items:
        raise WeightsError("tensor reaches outside its storage")
    return TensorRecord(storage, dtype, offset, size_t, stride_t)


def _rebuild_tensor(storage: Any, offset: Any, size: Any, stride: Any, *_rest: Any) -> TensorRecord:
    """Our stand-in for torch._utils._rebuild_tensor_v2 (and v1)."""
    return _record(storage, offset, size, stride)


def _rebuild_tensor_v3(
    storage: Any, offset: Any, size: Any, stride: Any, _grad: Any, _hooks: Any, dtype: Any, *_rest: Any
) -> TensorRecord:
    """Like v2 but the dtype comes separately (untyped storage)."""
    if not isinstance(dtype, torch.dtype):
        raise WeightsError("malformed tensor record")
    return _record(storage, offset, size, stride, dtype)


def _rebuild_parameter(data: Any, *_rest: Any) -> Any:
    """Parameters are kept as plain tensors: only the values matter here."""
    return data


_SCALARS = (str, bytes, int, float, complex, bool, type(None))


class _BoundedValueType(_Sealed):
    """A plain value type the pickle may call (``set([...])``, ``complex(1, 2)``): never allocates from a number.

    Constructors that copy a container are charged for its length against the load's budget;
    every other argument must be a scalar, and ``bytes``/``str`` get no int (``bytes(10**9)``).
    """

    __slots__ = ("kind", "budget")

    def __init__(self, kind: type, budget: "_CopyBudget") -> None:
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "budget", budget)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs or len(args) > 3:
            raise WeightsError(f"unexpected {self.kind.__name__} call in pickle")
        for arg in args:
            if isinstance(arg, (str, bytes)):
                self.budget.charge(len(arg))
            elif isinstance(arg, (list, tuple, dict, set, frozenset)):
                if self.kind not in _COPYING_TYPES:
                    raise WeightsError(f"unexpected {self.kind.__name__} call in pickle")
                self.budget.charge(8 * len(arg))
            elif not isinstance(arg, _SCALARS) or (isinstance(arg, int) and self.kind in (bytes, str)):
                raise WeightsError(f"unexpected {self.kind.__name__} call in pickle")
        return self.kind(*args)


_COPYING_TYPES = (dict, list, tuple, set, frozenset, bytes, collections.OrderedDict)
_VALUE_TYPES = (dict, list, tuple, set, frozenset, str, int, float, bool, bytes, complex, slice, object)


class _CopyBudget:
    def __init__(self, limit: int) -> None:
        self.left = limit

    def charge(self, nbytes: int) -> None:
        self.left -= nbytes
        if self.left < 0:
            raise WeightsError("its pickle copies more data than a checkpoint holds")


_ALLOWED: dict[tuple[str, str], _Function] = {
    ("torch._utils", "_rebuild_tensor"): _Function(_rebuild_tensor),
    ("torch._utils", "_rebuild_tensor_v2"): _Function(_rebuild_tensor),
    ("torch._utils", "_rebuild_tensor_v3"): _Function(_rebuild_tensor_v3),
    ("torch._utils", "_rebuild_parameter"): _Function(_rebuild_parameter),
    ("torch._utils", "_rebuild_parameter_with_state"): _Function(_rebuild_parameter),
}
_REBUILDERS = frozenset({_rebuild_tensor, _rebuild_tensor_v3, _rebuild_parameter})
_STORAGE_TYPES = {name: _StorageType(dtype) for name, dtype in _STORAGE_DTYPES.items()}


class RestrictedUnpickler(pickle.Unpickler):
    """Resolves globals to our inert stand-ins; persistent ids become :class:`StorageRef` (nothing is read).

    Give it only a pickle that :func:`check_pickle_ops` accepted: the C unpickler sizes its memo by
    the largest index it sees.
    """

    def __init__(self, file: Any, source: str) -> None:
        super().__init__(file)
        self._source = source
        self._budget = _CopyBudget(MAX_COPIED_BYTES)
        self._placeholders: dict[str, type[Placeholder]] = {}
        self._value_types = {t.__name__: _BoundedValueType(t, self._budget) for t in _VALUE_TYPES}
        self._ordered_dict = _BoundedValueType(collections.OrderedDict, self._budget)
        self._rebuild_from_type_function = _Function(self._rebuild_from_type)
        self._encode_function = _Function(self._latin1_encode)
        self.storages: dict[str, StorageRef] = {}

    def find_class(self, module: str, name: str) -> Any:
        module = _PY2_MODULES.get(module, module)
        allowed = _ALLOWED.get((module, name))
        if allowed is not None:
            return allowed
        if (module, name) == ("torch._tensor", "_rebuild_from_type_v2"):
            return self._rebuild_from_type_function
        if (module, name) == ("_codecs", "encode"):
            return self._encode_function
        if (module, name) == ("collections", "OrderedDict"):
            return self._ordered_dict
        if module == "builtins" and name in self._value_types:
            return self._value_types[name]
        if module in ("torch", "torch.storage") and name in _STORAGE_DTYPES:
            return _STORAGE_TYPES[name]
        if module == "torch" and name in _DTYPES:
            return _DTYPES[name]
        if any(module == bad or module.startswith(bad + ".") for bad in _DANGEROUS_MODULES):
            raise UnsafePickleError(
                f"{self._source}: refused to load: its pickle calls {module}.{name}, which could run code"
            )
        return self._placeholder_type(f"{module}.{name}")

    def _placeholder_type(self, qualname: str) -> type[Placeholder]:
        """One subclass per name (per load), so collected trees still say what each object was."""
        cls = self._placeholders.get(qualname)
        if cls is None:
            if len(self._placeholders) >= MAX_CLASS_NAMES:
                raise WeightsError(f"its pickle names more than {MAX_CLASS_NAMES} classes")
            cls = type("Placeholder", (Placeholder,), {"qualname": qualname, "__slots__": ()})
            self._placeholders[qualname] = cls
        return cls

    def _rebuild_from_type(self, func: Any, _new_type: Any, args: Any, _state: Any) -> Any:
        """``_rebuild_from_type_v2``: rebuild only when the inner function is one of ours."""
        if isinstance(func, _Function) and func.function in _REBUILDERS and isinstance(args, tuple):
            return func(*args)
        return self._placeholder_type("torch._tensor._rebuild_from_type_v2")()

    def _latin1_encode(self, text: Any, encoding: Any = "latin1") -> bytes:
        """Protocol-2 pickles spell bytes as ``_codecs.encode(str, 'latin1')``; charged like a copy."""
        if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
            raise WeightsError("unexpected _codecs.encode call in pickle")
        self._budget.charge(len(text))
        try:
            return text.encode("latin-1")
        except UnicodeEncodeError:
            raise WeightsError("malformed bytes in pickle") from None

    def persistent_load(self, pid: Any) -> Any:
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"):
            raise WeightsError(f"{self._source}: unsupported storage reference in pickle")
        _, storage_type, key, _location, numel = pid[:5]
        if not isinstance(storage_type, _StorageType) or not isinstance(key, str) or type(numel) is not int:
            raise WeightsError(f"{self._source}: malformed storage reference in pickle")
        ref = StorageRef(key, storage_type.dtype, numel)
        if numel < 0 or ref.nbytes > MAX_STORAGE_BYTES:
            raise WeightsError(f"{self._source}: storage {key!r} declares {numel} items")
        known = self.storages.setdefault(key, ref)
        if known != ref:
            raise WeightsError(f"{self._source}: storage {key!r} is declared twice with different sizes")
        return known


def check_pickle_ops(data: bytes) -> None:
    """Walk the pickle's opcodes without building anything: refuse what would make the unpickler allocate.

    The op count bounds the objects unpickling can make; memo indices above it are refused (the C
    unpickler allocates its memo up to the largest index); a declared length beyond the data fails here.
    """
    ops = 0
    try:
        for opcode, arg, _pos in pickletools.genops(io.BytesIO(data)):
            ops += 1
            if ops > MAX_PICKLE_OPS:
                raise WeightsError(f"its pickle has more than {MAX_PICKLE_OPS} operations")
            if opcode.name in _MEMO_OPS and not (isinstance(arg, int) and 0 <= arg <= MAX_PICKLE_OPS):
                raise WeightsError("its pickle uses an out-of-range memo index")
    except WeightsError:
        raise
    except Exception as exc:  # noqa: BLE001 - pickletools raises ValueError and friends on damaged data
        raise WeightsError(f"unreadable checkpoint pickle ({type(exc).__name__}: {exc})") from None


@dataclass
class TorchArchive:
    """What :func:`open_torch_zip` found: the unpickled root (tensors as records), nothing read yet."""

    path: Path
    root: Any
    torchscript: bool
    prefix: str
    byteorder: str
    storages: dict[str, StorageRef]

    def read_tensors(self, records: Mapping[str, TensorRecord], max_bytes: int) -> dict[str, torch.Tensor]:
        """Read the storages behind ``records`` (each once, all within ``max_bytes``); views into them."""
        source = str(self.path)
        needed = {record.storage.key: record.storage for record in records.values()}
        total = sum(ref.nbytes for ref in needed.values())
        if total > max_bytes:
            raise WeightsError(
                f"{source}: the weights declare {total / 1e6:.0f} MB of storage, more than this model "
                f"needs ({max_bytes / 1e6:.0f} MB)"
            )
        flats: dict[str, torch.Tensor] = {}
        try:
            with zipfile.ZipFile(self.path) as zf:
                for key, ref in needed.items():
                    flats[key] = self._read_storage(zf, ref, source)
        except WeightsError:
            raise
        except Exception as exc:  # noqa: BLE001 - zipfile/zlib raise many types on damaged members
            raise WeightsError(f"{source}: damaged archive ({type(exc).__name__}: {exc})") from None
        return {
            name: flats[r.storage.key].view(r.dtype).as_strided(r.shape, r.stride, r.offset)
            for name, r in records.items()
        }

    def _read_storage(self, zf: zipfile.ZipFile, ref: StorageRef, source: str) -> torch.Tensor:
        member = self.prefix + "data/" + ref.key
        if "/" in ref.key or ".." in ref.key:
            raise WeightsError(f"{source}: storage {ref.key!r} is missing from the archive")
        try:
            info = zf.getinfo(member)
        except KeyError:
            raise WeightsError(f"{source}: storage {ref.key!r} is missing from the archive") from None
        if info.file_size != ref.nbytes:
            raise WeightsError(f"{source}: storage {ref.key!r} has {info.file_size} bytes, expected {ref.nbytes}")
        raw = torch.empty(ref.nbytes, dtype=torch.uint8)
        with zf.open(info) as fh:
            if ref.nbytes and fh.readinto(memoryview(raw.numpy())) != ref.nbytes:
                raise WeightsError(f"{source}: storage {ref.key!r} is truncated")
        flat = raw.view(ref.dtype)
        if self.byteorder == "big" and ref.dtype.itemsize > 1:
            flat = torch.from_numpy(flat.numpy().byteswap())
        return flat


def is_torch_zip(path: Path) -> bool:
    """A zip with exactly one top folder holding data.pkl (torch.save >= 1.6 or TorchScript).

    A file that starts like a zip but whose directory is damaged is a :class:`WeightsError`.
    """
    if not zipfile.is_zipfile(path):
        return False
    try:
        with zipfile.ZipFile(path) as zf:
            return _find_archive_prefix(zf) is not None
    except Exception as exc:  # noqa: BLE001 - zipfile raises BadZipFile, UnicodeDecodeError, ValueError, ...
        raise WeightsError(f"{path}: damaged archive ({type(exc).__name__}: {exc})") from None


def _find_archive_prefix(zf: zipfile.ZipFile) -> str | None:
    names = [n for n in zf.namelist() if n.endswith("/data.pkl") and n.count("/") == 1]
    return names[0][: -len("data.pkl")] if len(names) == 1 else None


def _read_member(zf: zipfile.ZipFile, name: str, limit: int, source: str) -> bytes:
    info = zf.getinfo(name)
    if info.file_size > limit:
        raise WeightsError(f"{source}: {name} is {info.file_size} bytes, more than a checkpoint has")
    with zf.open(info) as fh:
        return fh.read(limit + 1)


def open_torch_zip(path: Path) -> TorchArchive:
    """Unpickle ``<archive>/data.pkl`` with tensors as :class:`TensorRecord`; no storage is read.

    Only :class:`WeightsError` (and its subclass :class:`UnsafePickleError`) leaves this function.
    """
    source = str(path)
    try:
        return _open_torch_zip(path, source)
    except WeightsError as exc:
        if str(exc).startswith(source):
            raise
        raise type(exc)(f"{source}: {exc}") from None
    except RecursionError:
        raise WeightsError(f"{source}: the checkpoint pickle is nested too deeply") from None
    except Exception as exc:  # noqa: BLE001 - zipfile, zlib and the unpickler raise many types on damaged data
        log.debug("reading %s failed", source, exc_info=True)
        raise WeightsError(f"{source}: unreadable checkpoint ({type(exc).__name__}: {exc})") from None


def _open_torch_zip(path: Path, source: str) -> TorchArchive:
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
            byteorder = _read_member(zf, prefix + "byteorder", 16, source).decode("ascii", "replace").strip()
            if byteorder not in ("little", "big"):
                raise WeightsError(f"{source}: unknown byte order {byteorder!r}")
        torchscript = prefix + "constants.pkl" in names or any(n.startswith(prefix + "code/") for n in names)
        data = _read_member(zf, prefix + "data.pkl", MAX_PICKLE_BYTES, source)
    check_pickle_ops(data)
    unpickler = RestrictedUnpickler(io.BytesIO(data), source)
    try:
        root = unpickler.load()
    except WeightsError:
        raise
    except Exception as exc:  # noqa: BLE001 - any malformed pickle becomes one clear error
        raise WeightsError(f"{source}: unreadable checkpoint pickle ({type(exc).__name__}: {exc})") from None
    log.debug("read %s (%s, %d storages declared)", source, "TorchScript" if torchscript else "torch.save", len(unpickler.storages))
    return TorchArchive(path, root, torchscript, prefix, byteorder, unpickler.storages)


def placeholder_tensors(obj: Any, prefix: str = "") -> dict[str, TensorRecord]:
    """Tensors in a TorchScript module tree by attribute path (``model.generator.model.1...``)."""
    found: dict[str, TensorRecord] = {}
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
            if isinstance(value, TensorRecord):
                found[name] = value
            elif isinstance(value, (Placeholder, dict)):
                stack.append((name + ".", value))
    return found
