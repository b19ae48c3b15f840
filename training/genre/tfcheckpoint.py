"""Read TensorFlow 1.x checkpoints (tensor bundles) without TensorFlow.

A bundle is ``<prefix>.index`` (a LevelDB-style sorted table whose values are
``BundleEntryProto`` messages) plus ``<prefix>.data-00000-of-00001`` holding the raw
little-endian tensor bytes. Only what the musicnn checkpoints need is supported:
uncompressed tables, one data shard, numeric dtypes.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

_MAGIC = 0xDB4775248B80FB57
# tensorflow/core/framework/types.proto
_DTYPES = {1: np.float32, 2: np.float64, 3: np.int32, 9: np.int64, 10: np.bool_, 19: np.float16}


class CheckpointFormatError(ValueError):
    """The file is not a tensor bundle this reader understands."""


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def _proto_fields(buf: bytes) -> list[tuple[int, int | bytes]]:
    """Decode one protobuf message into (field number, value) pairs."""
    out: list[tuple[int, int | bytes]] = []
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            val, pos = _varint(buf, pos)
        elif wire == 1:
            val = struct.unpack_from("<Q", buf, pos)[0]
            pos += 8
        elif wire == 2:
            n, pos = _varint(buf, pos)
            val = buf[pos : pos + n]
            pos += n
        elif wire == 5:
            val = struct.unpack_from("<I", buf, pos)[0]
            pos += 4
        else:
            raise CheckpointFormatError(f"unsupported protobuf wire type {wire}")
        out.append((field, val))
    return out


def _block_entries(data: bytes, offset: int, size: int) -> list[tuple[bytes, bytes]]:
    block = data[offset : offset + size]
    if data[offset + size] != 0:
        raise CheckpointFormatError("compressed table blocks are not supported")
    (n_restarts,) = struct.unpack_from("<I", block, len(block) - 4)
    end = len(block) - 4 - 4 * n_restarts
    entries: list[tuple[bytes, bytes]] = []
    pos, key = 0, b""
    while pos < end:
        shared, pos = _varint(block, pos)
        non_shared, pos = _varint(block, pos)
        vlen, pos = _varint(block, pos)
        key = key[:shared] + block[pos : pos + non_shared]
        pos += non_shared
        entries.append((key, block[pos : pos + vlen]))
        pos += vlen
    return entries


def _handle(buf: bytes, pos: int = 0) -> tuple[int, int, int]:
    off, pos = _varint(buf, pos)
    size, pos = _varint(buf, pos)
    return off, size, pos


def read_index(index_path: str | Path) -> dict[str, dict]:
    """Map tensor name -> {dtype, shape, offset, size} from a ``.index`` file."""
    data = Path(index_path).read_bytes()
    if len(data) < 48 or struct.unpack_from("<Q", data, len(data) - 8)[0] != _MAGIC:
        raise CheckpointFormatError(f"{index_path}: not a tensor bundle index")
    footer = data[-48:]
    _, _, pos = _handle(footer)  # metaindex (unused)
    idx_off, idx_size, _ = _handle(footer, pos)
    entries: dict[str, dict] = {}
    for _, handle in _block_entries(data, idx_off, idx_size):
        off, size, _ = _handle(handle)
        for key, value in _block_entries(data, off, size):
            if not key:  # the BundleHeaderProto
                continue
            fields = _proto_fields(value)
            info: dict = {"dtype": 1, "shape": [], "offset": 0, "size": 0, "shard": 0}
            for f, v in fields:
                if f == 1:
                    info["dtype"] = v
                elif f == 2:
                    info["shape"] = [
                        int(dict(_proto_fields(dim)).get(1, 0))
                        for df, dim in _proto_fields(v)  # type: ignore[arg-type]
                        if df == 2
                    ]
                elif f == 3:
                    info["shard"] = v
                elif f == 4:
                    info["offset"] = v
                elif f == 5:
                    info["size"] = v
                elif f == 7:
                    raise CheckpointFormatError(f"sliced tensor {key!r} is not supported")
            entries[key.decode()] = info
    return entries


def read_checkpoint(prefix: str | Path, skip_optimizer: bool = True) -> dict[str, np.ndarray]:
    """Load every tensor of the bundle at ``prefix`` (``prefix + '.index'`` must exist).

    Adam slot variables (``*/Adam``, ``*/Adam_1``, ``beta*_power``) are skipped unless
    ``skip_optimizer`` is False.
    """
    prefix = str(prefix)
    index = read_index(prefix + ".index")
    raw = Path(prefix + ".data-00000-of-00001").read_bytes()
    out: dict[str, np.ndarray] = {}
    for name, info in index.items():
        if skip_optimizer and ("/Adam" in name or name.startswith("beta1_power") or name.startswith("beta2_power")):
            continue
        if info["shard"] != 0:
            raise CheckpointFormatError(f"{name}: multi-shard bundles are not supported")
        dtype = _DTYPES.get(info["dtype"])
        if dtype is None:
            raise CheckpointFormatError(f"{name}: unsupported dtype {info['dtype']}")
        buf = raw[info["offset"] : info["offset"] + info["size"]]
        out[name] = np.frombuffer(buf, dtype=dtype).reshape(info["shape"]).copy()
    return out
