"""Shared helpers for the weights, download and CLI tests (no tests here).

Building real checkpoints is slow (lama-fourier is ~108 MB in fp32), so most format tests use
"layout" state dicts: every tensor is a view into one shared storage, so ``torch.save`` writes it
once (~5 MB) while keys and shapes are exactly the generator's.
"""

from __future__ import annotations

import http.server
import struct
import threading
import warnings
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from lamapaint.inpaint.lama import build_generator


def layout_state_dict(config: str, seed: int = 0) -> dict[str, torch.Tensor]:
    """Right keys and shapes, values sharing one storage (cheap to save; meaningless as weights)."""
    shapes = {k: tuple(v.shape) for k, v in build_generator(config).state_dict().items()}
    largest = max(torch.Size(s).numel() for s in shapes.values())
    base = torch.randn(largest, generator=torch.Generator().manual_seed(seed))
    counter = torch.zeros((), dtype=torch.int64)
    return {
        key: counter if key.endswith("num_batches_tracked") else base[: torch.Size(shape).numel()].view(shape)
        for key, shape in shapes.items()
    }


class _Trainer(nn.Module):
    """Stands in for LaMa's training module inside ``bin/to_jit.py``'s wrapper: holds ``generator``."""

    def __init__(self, generator: nn.Module) -> None:
        super().__init__()
        self.generator = generator

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        predicted = self.generator(torch.cat([image * (1 - mask), mask], dim=1))
        return mask * predicted + (1 - mask) * image


class _JitWrapper(nn.Module):
    def __init__(self, generator: nn.Module) -> None:
        super().__init__()
        self.model = _Trainer(generator)

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.model(image, mask)


def save_torchscript(path: Path, config: str, state_dict: dict[str, torch.Tensor]) -> Path:
    """A TorchScript file like IOPaint's big-lama.pt: parameters named ``model.generator.*``."""
    generator = build_generator(config)
    generator.load_state_dict(state_dict)
    wrapper = _JitWrapper(generator).eval()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch 2.13 deprecates jit.trace; files in the wild still use it
        traced = torch.jit.trace(wrapper, (torch.rand(1, 3, 32, 32), torch.zeros(1, 1, 32, 32)), check_trace=False)
    traced.save(str(path))
    return path


@dataclass
class ServerState:
    """What the test server serves and how it misbehaves; it records the Range headers it saw."""

    files: dict[str, bytes] = field(default_factory=dict)
    honour_range: bool = True
    drop_after: int | None = None  # close the connection after this many body bytes ...
    drops_left: int = 0  # ... for this many responses
    ranges_seen: list[str | None] = field(default_factory=list)


class _Handler(http.server.BaseHTTPRequestHandler):
    state: ServerState

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        state = self.server.state  # type: ignore[attr-defined]
        data = state.files.get(self.path)
        header = self.headers.get("Range")
        state.ranges_seen.append(header)
        if data is None:
            self.send_error(404, "Not Found")
            return
        start = 0
        if header and state.honour_range:
            start = int(header.removeprefix("bytes=").split("-")[0])
            if start >= len(data):
                self.send_error(416, "Range Not Satisfiable")
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if state.drop_after is not None and state.drops_left > 0:
            state.drops_left -= 1
            self.wfile.write(body[: state.drop_after])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - base class signature
        """Keep test output quiet."""


@contextmanager
def http_server(state: ServerState) -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 (port 0) in a thread; yields its base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.state = state  # type: ignore[attr-defined]
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


# ---- crafted archives (the loaders must refuse them before allocating) -----------------------------


def zeros_deflated(nbytes: int, chunk: int = 16 << 20) -> tuple[bytes, int]:
    """(raw deflate stream, crc32) of ``nbytes`` zero bytes, made in a fraction of the time compressing takes:
    after a full flush each identical chunk compresses to identical bytes."""
    assert nbytes % chunk == 0
    zeros = bytes(chunk)
    comp = zlib.compressobj(1, zlib.DEFLATED, -15)
    block = comp.compress(zeros) + comp.flush(zlib.Z_FULL_FLUSH)
    repeat = comp.compress(zeros) + comp.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(nbytes // chunk):
        crc = zlib.crc32(zeros, crc)
    return block + repeat * (nbytes // chunk - 1) + comp.flush(), crc


def write_raw_zip(path: Path, members: list[tuple[str | bytes, bytes, int, int, bool]]) -> Path:
    """A zip from (name, data as stored, crc32, uncompressed size, deflated) entries, written by hand."""
    local, central = bytearray(), bytearray()
    for name, data, crc, size, deflated in members:
        encoded = name if isinstance(name, bytes) else name.encode("utf-8")
        method = 8 if deflated else 0
        offset = len(local)
        local += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0x800, method, 0, 0x21, crc, len(data), size, len(encoded), 0)
        local += encoded + data
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0x800, method, 0, 0x21, crc, len(data), size,
            len(encoded), 0, 0, 0, 0, 0, offset,
        )
        central += encoded
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), len(local), 0)
    path.write_bytes(bytes(local + central + end))
    return path


def stored(name: str, data: bytes) -> tuple[str, bytes, int, int, bool]:
    return name, data, zlib.crc32(data), len(data), False


def torch_zip_with_pickle(path: Path, pickle_bytes: bytes, extra: list[tuple[str, bytes, int, int, bool]] = ()) -> Path:  # type: ignore[assignment]
    """A torch.save-shaped archive around a hand-made data.pkl."""
    return write_raw_zip(path, [stored("archive/data.pkl", pickle_bytes), stored("archive/byteorder", b"little"), *extra])
