"""The TF tensor-bundle reader, on a bundle written here byte by byte."""

import struct

import numpy as np
import pytest

from training.genre.tfcheckpoint import CheckpointFormatError, read_checkpoint, read_index


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(num: int, wire: int, payload: bytes | int) -> bytes:
    key = _varint(num << 3 | wire)
    if wire == 0:
        return key + _varint(payload)  # type: ignore[arg-type]
    return key + _varint(len(payload)) + payload  # type: ignore[arg-type]


def _block(entries: list[tuple[bytes, bytes]]) -> bytes:
    out, prev = bytearray(), b""
    for key, value in entries:
        shared = 0
        while shared < min(len(key), len(prev)) and key[shared] == prev[shared]:
            shared += 1
        out += _varint(shared) + _varint(len(key) - shared) + _varint(len(value)) + key[shared:] + value
        prev = key
    out += struct.pack("<I", 0) + struct.pack("<I", 1)  # one restart point at 0
    return bytes(out)


def write_bundle(prefix: str, tensors: dict[str, np.ndarray]) -> None:
    data, entries = bytearray(), [(b"", _field(1, 0, 1))]  # header entry first (empty key)
    for name in sorted(tensors):
        arr = np.ascontiguousarray(tensors[name], dtype=np.float32)
        shape = b"".join(_field(2, 2, _field(1, 0, d)) for d in arr.shape)
        proto = _field(1, 0, 1) + _field(2, 2, shape) + _field(4, 0, len(data)) + _field(5, 0, arr.nbytes)
        entries.append((name.encode(), proto))
        data += arr.tobytes()
    table = bytearray()
    block = _block(entries)
    table += block + b"\x00" + b"\x00\x00\x00\x00"
    index = _block([(b"\xff", _varint(0) + _varint(len(block)))])
    idx_off = len(table)
    table += index + b"\x00" + b"\x00\x00\x00\x00"
    footer = _varint(0) + _varint(0) + _varint(idx_off) + _varint(len(index))
    footer += b"\x00" * (40 - len(footer)) + struct.pack("<Q", 0xDB4775248B80FB57)
    table += footer
    open(prefix + ".index", "wb").write(bytes(table))
    open(prefix + ".data-00000-of-00001", "wb").write(bytes(data))


def test_reads_shapes_and_values_and_skips_adam(tmp_path):
    prefix = str(tmp_path / "ck")
    tensors = {
        "conv2d/kernel": np.arange(24, dtype=np.float32).reshape(2, 3, 1, 4),
        "conv2d/kernel/Adam": np.ones((2, 3, 1, 4), np.float32),
        "conv2d/bias": np.array([1.5, -2.0, 3.25, 0.0], np.float32),
        "beta1_power": np.array(0.9, np.float32),
    }
    write_bundle(prefix, tensors)
    index = read_index(prefix + ".index")
    assert set(index) == set(tensors)
    assert index["conv2d/kernel"]["shape"] == [2, 3, 1, 4]
    w = read_checkpoint(prefix)
    assert set(w) == {"conv2d/kernel", "conv2d/bias"}
    np.testing.assert_array_equal(w["conv2d/kernel"], tensors["conv2d/kernel"])
    np.testing.assert_array_equal(w["conv2d/bias"], tensors["conv2d/bias"])
    assert "conv2d/kernel/Adam" in read_checkpoint(prefix, skip_optimizer=False)


def test_rejects_non_bundle(tmp_path):
    p = tmp_path / "x.index"
    p.write_bytes(b"not a table" * 10)
    with pytest.raises(CheckpointFormatError):
        read_index(p)
