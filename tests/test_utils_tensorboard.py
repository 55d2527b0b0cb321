"""rtorch.utils.tensorboard.SummaryWriter: event files read back by an independent reader.

The reader below (TFRecord framing, a bitwise CRC-32C, protobuf wire decoding driven by
field tables written from tensorboard's .proto files, a PNG decoder with all five
scanline filters) shares no code with the writer.  References: numpy in float64 for
histograms and PR curves, closed-form pixel conversions, the stdlib ``wave`` reader,
published CRC-32C vectors; and, where installed, tensorboard's own EventAccumulator
and PyTorch's SummaryWriter.
"""

from __future__ import annotations

import glob
import importlib.util
import io
import math
import os
import re
import socket
import struct
import time
import wave
import zlib
from pathlib import Path

import numpy as np
import pytest

import rtorch
from rtorch.utils.tensorboard import SummaryWriter
from rtorch.utils.tensorboard._crc32c import crc32c, masked_crc32c

# ---- an independent reader ---------------------------------------------------------


def _crc32c_bitwise(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


def _masked(data: bytes) -> int:
    c = _crc32c_bitwise(data)
    return ((((c >> 15) | (c << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def read_records(path: str) -> list[bytes]:
    """The payloads of a TFRecord file, every length and data CRC checked."""
    data = Path(path).read_bytes()
    out, pos = [], 0
    while pos < len(data):
        header = data[pos : pos + 8]
        (length,) = struct.unpack("<Q", header)
        (hcrc,) = struct.unpack("<I", data[pos + 8 : pos + 12])
        assert hcrc == _masked(header), "length CRC mismatch"
        payload = data[pos + 12 : pos + 12 + length]
        assert len(payload) == length, "truncated record"
        (dcrc,) = struct.unpack("<I", data[pos + 12 + length : pos + 16 + length])
        assert dcrc == _masked(payload), "data CRC mismatch"
        out.append(payload)
        pos += 16 + length
    return out


def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return result, pos


def wire_fields(buf: bytes) -> list[tuple[int, int, object]]:
    """(field number, wire type, raw value) of every field of a message."""
    out, pos = [], 0
    while pos < len(buf):
        key, pos = _read_varint(buf, pos)
        field, wt = key >> 3, key & 7
        if wt == 0:
            v, pos = _read_varint(buf, pos)
        elif wt == 1:
            v, pos = buf[pos : pos + 8], pos + 8
        elif wt == 5:
            v, pos = buf[pos : pos + 4], pos + 4
        elif wt == 2:
            n, pos = _read_varint(buf, pos)
            v, pos = buf[pos : pos + n], pos + n
        else:
            raise AssertionError(f"unexpected wire type {wt}")
        out.append((field, wt, v))
    assert pos == len(buf)
    return out


def _signed64(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


def _scalar(kind: str, wt: int, raw: object) -> object:
    if kind == "double":
        assert wt == 1
        return struct.unpack("<d", raw)[0]
    if kind == "float":
        assert wt == 5
        return struct.unpack("<f", raw)[0]
    if kind == "int":
        assert wt == 0
        return _signed64(raw)
    if kind == "str":
        assert wt == 2
        return raw.decode("utf-8")
    if kind == "bytes":
        assert wt == 2
        return raw
    raise AssertionError(kind)


def _packed(kind: str, wt: int, raw: object) -> list:
    if wt != 2:  # an unpacked element
        return [_scalar(kind, wt, raw)]
    if kind == "double":
        return list(struct.unpack(f"<{len(raw) // 8}d", raw))
    if kind == "float":
        return list(struct.unpack(f"<{len(raw) // 4}f", raw))
    vals, pos = [], 0
    while pos < len(raw):
        v, pos = _read_varint(raw, pos)
        vals.append(_signed64(v))
    return vals


def decode(buf: bytes, schema: dict) -> dict:
    """``buf`` as a dict by ``schema``: field -> (name, kind[, "repeated"]); kind is a
    scalar kind, "packed_<kind>" or a nested schema."""
    out: dict = {}
    for field, wt, raw in wire_fields(buf):
        assert field in schema, f"unexpected field {field} ({wt}) for {schema}"
        name, kind, *rep = schema[field]
        if isinstance(kind, dict):
            assert wt == 2
            value = decode(raw, kind)
        elif kind.startswith("packed_"):
            out.setdefault(name, []).extend(_packed(kind[7:], wt, raw))
            continue
        else:
            value = _scalar(kind, wt, raw)
        if rep:
            out.setdefault(name, []).append(value)
        else:
            out[name] = value
    return out


# Field tables from tensorboard's event.proto, summary.proto, tensor.proto,
# tensor_shape.proto, plugins/hparams/{api,plugin_data}.proto, struct.proto.
PLUGIN_DATA = {1: ("plugin_name", "str"), 2: ("content", "bytes")}
METADATA = {
    1: ("plugin_data", PLUGIN_DATA),
    2: ("display_name", "str"),
    3: ("summary_description", "str"),
    4: ("data_class", "int"),
}
SHAPE = {2: ("dim", {1: ("size", "int"), 2: ("name", "str")}, "repeated")}
TENSOR = {
    1: ("dtype", "int"),
    2: ("tensor_shape", SHAPE),
    4: ("tensor_content", "bytes"),
    5: ("float_val", "packed_float"),
    6: ("double_val", "packed_double"),
    7: ("int_val", "packed_int"),
    8: ("string_val", "bytes", "repeated"),
    10: ("int64_val", "packed_int"),
    11: ("bool_val", "packed_int"),
    13: ("half_val", "packed_int"),
}
IMAGE = {
    1: ("height", "int"),
    2: ("width", "int"),
    3: ("colorspace", "int"),
    4: ("encoded_image_string", "bytes"),
}
AUDIO = {
    1: ("sample_rate", "float"),
    2: ("num_channels", "int"),
    3: ("length_frames", "int"),
    4: ("encoded_audio_string", "bytes"),
    5: ("content_type", "str"),
}
HISTO = {
    1: ("min", "double"),
    2: ("max", "double"),
    3: ("num", "double"),
    4: ("sum", "double"),
    5: ("sum_squares", "double"),
    6: ("bucket_limit", "packed_double"),
    7: ("bucket", "packed_double"),
}
VALUE = {
    1: ("tag", "str"),
    2: ("simple_value", "float"),
    4: ("image", IMAGE),
    5: ("histo", HISTO),
    6: ("audio", AUDIO),
    7: ("node_name", "str"),
    8: ("tensor", TENSOR),
    9: ("metadata", METADATA),
}
EVENT = {
    1: ("wall_time", "double"),
    2: ("step", "int"),
    3: ("file_version", "str"),
    5: ("summary", {1: ("value", VALUE, "repeated")}),
    7: ("session_log", {1: ("status", "int"), 2: ("checkpoint_path", "str"), 3: ("msg", "str")}),
    10: ("source_metadata", {1: ("writer", "str")}),
}
PB_VALUE: dict = {
    1: ("null_value", "int"),
    2: ("number_value", "double"),
    3: ("string_value", "str"),
    4: ("bool_value", "int"),
}
PB_VALUE[6] = ("list_value", {1: ("values", PB_VALUE, "repeated")})
HPARAMS_DATA = {
    1: ("version", "int"),
    2: (
        "experiment",
        {
            4: (
                "hparam_infos",
                {
                    1: ("name", "str"),
                    4: ("type", "int"),
                    5: ("domain_discrete", {1: ("values", PB_VALUE, "repeated")}),
                },
                "repeated",
            ),
            5: (
                "metric_infos",
                {1: ("name", {1: ("group", "str"), 2: ("tag", "str")})},
                "repeated",
            ),
        },
    ),
    3: (
        "session_start_info",
        {1: ("hparams", {1: ("key", "str"), 2: ("value", PB_VALUE)}, "repeated")},
    ),
    4: ("session_end_info", {1: ("status", "int"), 2: ("end_time_secs", "double")}),
}


LAYOUT = {
    2: (
        "category",
        {
            1: ("title", "str"),
            2: (
                "chart",
                {
                    1: ("title", "str"),
                    2: ("multiline", {1: ("tag", "str", "repeated")}),
                    3: (
                        "margin",
                        {
                            1: (
                                "series",
                                {1: ("value", "str"), 2: ("lower", "str"), 3: ("upper", "str")},
                                "repeated",
                            )
                        },
                    ),
                },
                "repeated",
            ),
        },
        "repeated",
    )
}


def event_files(log_dir: str | Path) -> list[str]:
    return sorted(glob.glob(os.path.join(str(log_dir), "events.out.tfevents.*")))


def read_events(path: str) -> list[dict]:
    return [decode(r, EVENT) for r in read_records(path)]


def the_events(log_dir: str | Path) -> list[dict]:
    files = event_files(log_dir)
    assert len(files) == 1, files
    return read_events(files[0])


def summary_values(events: list[dict]) -> list[tuple[int, dict]]:
    """(step, Summary.Value) of every summary event, header skipped."""
    out = []
    for e in events:
        for v in e.get("summary", {}).get("value", []):
            out.append((e.get("step", 0), v))
    return out


def _paeth(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))


def decode_png(data: bytes) -> np.ndarray:
    """(H, W, C) uint8 pixels of an 8-bit non-interlaced PNG; chunk CRCs checked."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + n]
        (crc,) = struct.unpack(">I", data[pos + 8 + n : pos + 12 + n])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    w, h, depth, color, _, _, interlace = header
    assert depth == 8 and interlace == 0
    c = {0: 1, 2: 3, 4: 2, 6: 4}[color]
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(h, 1 + w * c)
    out = np.zeros((h, w * c), dtype=np.int64)
    prev = np.zeros(w * c, dtype=np.int64)
    for y in range(h):
        f, line = raw[y, 0], raw[y, 1:].astype(np.int64)
        cur = np.zeros(w * c, dtype=np.int64)
        for i in range(w * c):
            left = cur[i - c] if i >= c else 0
            up = prev[i]
            ul = prev[i - c] if i >= c else 0
            pred = [
                0,
                left,
                up,
                (left + up) // 2,
                int(_paeth(np.int64(left), np.int64(up), np.int64(ul))),
            ][f]
            cur[i] = (line[i] + pred) & 0xFF
        out[y] = cur
        prev = cur
    return out.reshape(h, w, c).astype(np.uint8)


# ---- CRC-32C -----------------------------------------------------------------------


def test_crc32c_published_vectors():
    # RFC 3720 (iSCSI) B.4 and the common check value.
    assert crc32c(b"123456789") == 0xE3069283
    assert crc32c(b"") == 0
    assert crc32c(bytes(32)) == 0x8A9136AA
    assert crc32c(b"\xff" * 32) == 0x62A8AB43
    assert crc32c(bytes(range(32))) == 0x46DD794E
    assert crc32c(bytes(range(31, -1, -1))) == 0x113FDB5C
    # Continuing a stream equals one pass.
    assert crc32c(b"6789", crc32c(b"12345")) == 0xE3069283


def test_masked_crc32c_against_bitwise_reference():
    rng = np.random.default_rng(0)
    for n in (0, 1, 7, 8, 100):
        data = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        assert crc32c(data) == _crc32c_bitwise(data)
        assert masked_crc32c(data) == _masked(data)


# ---- files, header, log_dir --------------------------------------------------------


def test_file_name_and_header(tmp_path):
    before = time.time()
    w = SummaryWriter(log_dir=str(tmp_path / "run"), filename_suffix=".sfx")
    after = time.time()
    w.close()
    files = event_files(tmp_path / "run")
    assert len(files) == 1
    name = os.path.basename(files[0])
    m = re.fullmatch(r"events\.out\.tfevents\.(\d{10})\.(.+)\.(\d+)\.(\d+)\.sfx", name)
    assert m, name
    assert int(before) <= int(m.group(1)) <= int(after)
    assert m.group(2) == socket.gethostname()
    assert int(m.group(3)) == os.getpid()
    (header,) = read_events(files[0])
    assert header["file_version"] == "brain.Event:2"
    assert before <= header["wall_time"] <= after
    assert "step" not in header and "summary" not in header


def test_default_log_dir_and_comment(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    w = SummaryWriter(comment="_lr0.1")
    w.close()
    log_dir = w.get_logdir()
    host = re.escape(socket.gethostname())
    assert re.fullmatch(
        rf"runs/[A-Z][a-z]{{2}}\d{{2}}_\d{{2}}-\d{{2}}-\d{{2}}_{host}_lr0\.1", log_dir
    )
    assert len(event_files(tmp_path / log_dir)) == 1
    # An explicit log_dir (a Path too) ignores the comment.
    w2 = SummaryWriter(tmp_path / "explicit", comment="ignored")
    w2.close()
    assert w2.get_logdir() == tmp_path / "explicit"
    assert len(event_files(tmp_path / "explicit")) == 1


# ---- scalars ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        1.5,
        0.0,
        -3,
        True,
        1e-3,
        1e300,  # beyond float32: stored as inf
        np.float32(2.25),
        np.float64(-0.1),
        np.array([[0.75]]),
        rtorch.tensor(0.3),
        rtorch.tensor([4.0], dtype=rtorch.float64),
        rtorch.tensor(7, dtype=rtorch.int64),
        rtorch.tensor(1.5, dtype=rtorch.bfloat16),
        rtorch.tensor(2.5, requires_grad=True) * 2,
    ],
    ids=lambda v: type(v).__name__,
)
def test_add_scalar_values(tmp_path, value):
    with SummaryWriter(tmp_path) as w:
        w.add_scalar("loss/train", value, 12, walltime=1234.5)
    _, ev = the_events(tmp_path)
    assert ev["step"] == 12 and ev["wall_time"] == 1234.5
    (v,) = ev["summary"]["value"]
    assert v["tag"] == "loss/train"
    # simple_value must be present even when zero (it is a oneof member).
    assert "simple_value" in v
    ref = float(
        np.asarray(
            value.detach().float().numpy() if isinstance(value, rtorch.Tensor) else value,
            np.float64,
        ).reshape(())
    )
    with np.errstate(over="ignore"):
        expected = np.float32(ref)
    assert np.float32(v["simple_value"]).tobytes() == expected.tobytes()


def test_add_scalar_steps_and_walltime(tmp_path):
    w = SummaryWriter(tmp_path)
    t0 = time.time()
    for step in range(5):
        w.add_scalar("x", step * 0.5, step)
    w.add_scalar("x", 9.0)  # no step: 0
    w.add_scalar("x", 1.0, np.int64(2**40))  # numpy step, beyond int32
    t1 = time.time()
    w.close()
    events = the_events(tmp_path)
    vals = summary_values(events)
    assert [s for s, _ in vals] == [0, 1, 2, 3, 4, 0, 2**40]
    assert [v["simple_value"] for _, v in vals] == [0.0, 0.5, 1.0, 1.5, 2.0, 9.0, 1.0]
    assert all(t0 <= e["wall_time"] <= t1 for e in events[1:])


def test_add_scalar_negative_step(tmp_path):
    with SummaryWriter(tmp_path) as w:
        w.add_scalar("x", 1.0, -5)
    assert the_events(tmp_path)[1]["step"] == -5


@pytest.mark.parametrize("double", [False, True])
def test_add_scalar_new_style(tmp_path, double):
    with SummaryWriter(tmp_path) as w:
        w.add_scalar("acc", 0.1, 3, new_style=True, double_precision=double)
    _, ev = the_events(tmp_path)
    (v,) = ev["summary"]["value"]
    assert v["tag"] == "acc" and "simple_value" not in v
    assert v["metadata"] == {"plugin_data": {"plugin_name": "scalars"}}
    t = v["tensor"]
    if double:
        assert t == {"dtype": 2, "double_val": [0.1]}
    else:
        assert t["dtype"] == 1 and t["float_val"] == [float(np.float32(0.1))]
        assert set(t) == {"dtype", "float_val"}


def test_add_scalar_errors(tmp_path):
    with SummaryWriter(tmp_path) as w:
        with pytest.raises(AssertionError, match="one element"):
            w.add_scalar("x", rtorch.tensor([1.0, 2.0]))
        with pytest.raises(NotImplementedError, match="numpy array or torch tensor"):
            w.add_scalar("x", [1.0])
        with pytest.raises(NotImplementedError, match="meta"):
            w.add_scalar("x", rtorch.zeros((), device="meta"))


def test_add_scalars_writes_one_run_per_tag(tmp_path):
    w = SummaryWriter(tmp_path)
    for step in range(3):
        w.add_scalars(
            "run/14h", {"xsinx": step * 1.0, "xcosx": -step * 2.0}, step, walltime=50.0 + step
        )
    w.close()
    # The main file holds only its header.
    assert len(the_events(tmp_path)) == 1
    for tag, scale in (("xsinx", 1.0), ("xcosx", -2.0)):
        sub = tmp_path / f"run_14h_{tag}"
        events = the_events(sub)
        assert events[0]["file_version"] == "brain.Event:2"
        vals = summary_values(events)
        assert [(s, v["tag"], v["simple_value"]) for s, v in vals] == [
            (i, "run/14h", scale * i) for i in range(3)
        ]
        assert [e["wall_time"] for e in events[1:]] == [50.0, 51.0, 52.0]


# ---- histograms ---------------------------------------------------------------------


def _reference_histogram(values: np.ndarray, edges: np.ndarray) -> tuple[list, list]:
    """Buckets between the first and last non-empty one, with one extra bucket on the
    left (an empty one when the first bucket is non-empty), counted by a loop."""
    counts = np.zeros(len(edges) - 1)
    for x in values:
        if edges[0] <= x <= edges[-1]:
            i = min(int(np.searchsorted(edges, x, side="right")) - 1, len(counts) - 1)
            counts[i] += 1
    nz = [i for i, c in enumerate(counts) if c > 0]
    lo, hi = nz[0], nz[-1]
    bucket = ([0.0] + list(counts[: hi + 1])) if lo == 0 else list(counts[lo - 1 : hi + 1])
    return list(edges[lo : hi + 2]), bucket


def _tensorflow_edges() -> np.ndarray:
    pos = []
    v = 1e-12
    while v < 1e20:
        pos.append(v)
        v *= 1.1
    return np.array([-x for x in pos[::-1]] + [0.0] + pos)


@pytest.mark.parametrize("dtype", [rtorch.float32, rtorch.float64])
def test_add_histogram_default_bins(tmp_path, dtype):
    rtorch.manual_seed(0)
    x = rtorch.randn(500, 3, dtype=dtype)
    with SummaryWriter(tmp_path) as w:
        w.add_histogram("weights", x, 7)
    ((step, v),) = summary_values(the_events(tmp_path))
    assert step == 7 and v["tag"] == "weights"
    h = v["histo"]
    ref = x.numpy().astype(np.float64).reshape(-1)
    limits, bucket = _reference_histogram(ref, _tensorflow_edges())
    assert h["bucket_limit"] == limits
    assert h["bucket"] == bucket
    assert h["num"] == ref.size
    assert h["min"] == ref.min() and h["max"] == ref.max()
    np.testing.assert_allclose(h["sum"], ref.sum(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(h["sum_squares"], (ref * ref).sum(), rtol=1e-12)
    assert sum(bucket) == ref.size


def test_add_histogram_numpy_bins_and_max_bins(tmp_path):
    values = np.array([0.0, 0.5, 1.0, 1.0, 2.5, 9.0, 9.5, 10.0])
    with SummaryWriter(tmp_path) as w:
        w.add_histogram("auto", values, bins="auto")
        w.add_histogram("ten", values, bins=10)
        w.add_histogram("merged", values, bins=10, max_bins=3)
        w.add_histogram("ints", np.arange(6), bins=3)
        w.add_histogram("py", 2.5, bins=4)
    got = {v["tag"]: v["histo"] for _, v in summary_values(the_events(tmp_path))}
    edges = np.histogram_bin_edges(values, bins="auto")
    assert (got["auto"]["bucket_limit"], got["auto"]["bucket"]) == _reference_histogram(
        values, edges
    )
    edges10 = np.linspace(0.0, 10.0, 11)
    assert (got["ten"]["bucket_limit"], got["ten"]["bucket"]) == _reference_histogram(
        values, edges10
    )
    # max_bins=3 over 10 buckets: groups of 3 (10 // 3), the last padded: 4 groups.
    merged_edges = np.array([0.0, 3.0, 6.0, 9.0, 10.0])
    assert (got["merged"]["bucket_limit"], got["merged"]["bucket"]) == (
        [0.0, 3.0, 6.0, 9.0, 10.0],
        [0.0, 5.0, 0.0, 0.0, 3.0],
    )
    assert _reference_histogram(values, merged_edges) == (
        got["merged"]["bucket_limit"],
        got["merged"]["bucket"],
    )
    assert got["ints"]["bucket"] == [0.0, 2.0, 2.0, 2.0]
    assert got["ints"]["sum"] == 15.0 and got["ints"]["sum_squares"] == 55.0
    # One value: numpy's [v - 0.5, v + 0.5] range; 2.5 lies in [2.5, 2.75), the
    # bucket left of it carries its low edge.
    assert got["py"]["bucket_limit"] == [2.5, 2.75]
    assert got["py"]["bucket"] == [0.0, 1.0]
    assert _reference_histogram(np.array([2.5]), np.linspace(2, 3, 5)) == ([2.5, 2.75], [0.0, 1.0])
    assert got["py"]["num"] == 1.0


def test_add_histogram_constant_zero_values(tmp_path):
    # All values on the 0 edge: min=max=0 (left out of the proto, decoded as default).
    with SummaryWriter(tmp_path) as w:
        w.add_histogram("z", rtorch.zeros(4))
    ((_, v),) = summary_values(the_events(tmp_path))
    h = v["histo"]
    assert h.get("min", 0.0) == 0.0 and h.get("max", 0.0) == 0.0 and h["num"] == 4.0
    limits, bucket = _reference_histogram(np.zeros(4), _tensorflow_edges())
    assert h["bucket_limit"] == limits and h["bucket"] == bucket


def test_add_histogram_errors(tmp_path):
    with SummaryWriter(tmp_path) as w:
        with pytest.raises(ValueError, match="no element"):
            w.add_histogram("e", rtorch.zeros(0))
        with pytest.raises(ValueError, match="len\\(bucket_limits\\)"):
            w.add_histogram_raw("r", 0, 1, 2, 1, 1, [1.0, 2.0], [1.0])


def test_add_histogram_raw(tmp_path):
    with SummaryWriter(tmp_path) as w:
        w.add_histogram_raw(
            "raw",
            -1.0,
            3.0,
            5,
            4.5,
            11.25,
            np.array([0.0, 1.0, 3.0]),
            rtorch.tensor([1.0, 2.0, 2.0]),
            4,
        )
    ((step, v),) = summary_values(the_events(tmp_path))
    assert step == 4
    assert v["histo"] == {
        "min": -1.0,
        "max": 3.0,
        "num": 5.0,
        "sum": 4.5,
        "sum_squares": 11.25,
        "bucket_limit": [0.0, 1.0, 3.0],
        "bucket": [1.0, 2.0, 2.0],
    }


# ---- text, tensors --------------------------------------------------------------------


def test_add_text(tmp_path):
    with SummaryWriter(tmp_path) as w:
        w.add_text("notes", "**lr** = 0.1, naïve ✓", 3)
    ((step, v),) = summary_values(the_events(tmp_path))
    assert step == 3 and v["tag"] == "notes/text_summary"
    assert v["metadata"] == {"plugin_data": {"plugin_name": "text"}}
    assert v["tensor"] == {
        "dtype": 7,
        "tensor_shape": {"dim": [{"size": 1}]},
        "string_val": ["**lr** = 0.1, naïve ✓".encode()],
    }


@pytest.mark.parametrize(
    ("dtype", "tf_dtype", "field"),
    [
        (rtorch.float32, 1, "float_val"),
        (rtorch.float64, 2, "double_val"),
        (rtorch.int32, 3, "int_val"),
        (rtorch.uint8, 4, "int_val"),
        (rtorch.int16, 5, "int_val"),
        (rtorch.int8, 6, "int_val"),
        (rtorch.int64, 9, "int64_val"),
        (rtorch.bool, 10, "bool_val"),
    ],
)
def test_add_tensor(tmp_path, dtype, tf_dtype, field):
    data = (
        np.array([[0, 1, 2], [3, -4, 5]])
        if dtype not in (rtorch.uint8, rtorch.bool)
        else np.array([[0, 1, 2], [3, 4, 5]])
    )
    t = rtorch.tensor(data.tolist()).to(dtype)
    with SummaryWriter(tmp_path) as w:
        w.add_tensor("t", t, 2)
    ((step, v),) = summary_values(the_events(tmp_path))
    assert step == 2 and v["metadata"] == {"plugin_data": {"plugin_name": "tensor"}}
    tp = v["tensor"]
    assert tp["dtype"] == tf_dtype
    assert tp["tensor_shape"] == {"dim": [{"size": 2}, {"size": 3}]}
    ref = np.asarray(t.numpy(), dtype=np.float64).reshape(-1).tolist()
    assert [float(x) for x in tp[field]] == ref


def test_add_tensor_half_bits(tmp_path):
    vals = [0.5, -2.0, 65504.0, 1.0009765625]
    with SummaryWriter(tmp_path) as w:
        w.add_tensor("h", rtorch.tensor(vals, dtype=rtorch.float16))
        w.add_tensor("b", rtorch.tensor(vals[:2], dtype=rtorch.bfloat16))
    (_, h), (_, b) = summary_values(the_events(tmp_path))
    assert h["tensor"]["dtype"] == 19
    assert h["tensor"]["half_val"] == np.array(vals, np.float16).view(np.uint16).tolist()
    assert b["tensor"]["dtype"] == 14
    # bfloat16 bits: the upper half of the float32 pattern (both values exact).
    assert b["tensor"]["half_val"] == [0x3F00, 0xC000]


# ---- images -------------------------------------------------------------------------


def _pixels(img: dict) -> np.ndarray:
    px = decode_png(img["encoded_image_string"])
    assert px.shape == (img["height"], img["width"], img["colorspace"])
    return px


def test_add_image_formats(tmp_path):
    rng = np.random.default_rng(1)
    chw = rng.uniform(-0.2, 1.2, (3, 5, 7)).astype(np.float32)
    hwc_u8 = rng.integers(0, 256, (4, 6, 3), dtype=np.uint8)
    hw = rng.uniform(0, 1, (3, 4))
    gray = rng.uniform(0, 1, (1, 2, 3)).astype(np.float32)
    rgba = rng.integers(0, 256, (4, 3, 2), dtype=np.uint8)
    with SummaryWriter(tmp_path) as w:
        w.add_image("chw", rtorch.tensor(chw), 1)
        w.add_image("hwc", rtorch.tensor(hwc_u8.tolist(), dtype=rtorch.uint8), 1, dataformats="HWC")
        w.add_image("hw", hw, 1, dataformats="HW")
        w.add_image("wh", hw, 1, dataformats="WH")
        w.add_image("gray", gray, 1)
        w.add_image("rgba", rgba, 1)
    got = {v["tag"]: _pixels(v["image"]) for _, v in summary_values(the_events(tmp_path))}

    def scaled(x):  # [0, 1] -> 0..255, clipped and truncated
        return np.clip(x.astype(np.float32) * np.float32(255), 0, 255).astype(np.uint8)

    np.testing.assert_array_equal(got["chw"], scaled(chw.transpose(1, 2, 0)))
    np.testing.assert_array_equal(got["hwc"], hwc_u8)
    np.testing.assert_array_equal(got["hw"], np.repeat(scaled(hw)[:, :, None], 3, axis=2))
    np.testing.assert_array_equal(got["wh"], np.repeat(scaled(hw.T)[:, :, None], 3, axis=2))
    np.testing.assert_array_equal(got["gray"], np.repeat(scaled(gray[0])[:, :, None], 3, axis=2))
    np.testing.assert_array_equal(got["rgba"], rgba.transpose(1, 2, 0))


def test_png_decodes_with_pillow(tmp_path):
    pil = pytest.importorskip("PIL.Image")
    rgb = np.random.default_rng(2).integers(0, 256, (9, 11, 3), dtype=np.uint8)
    with SummaryWriter(tmp_path) as w:
        w.add_image("x", rgb, dataformats="HWC")
    ((_, v),) = summary_values(the_events(tmp_path))
    img = pil.open(io.BytesIO(v["image"]["encoded_image_string"]))
    assert img.mode == "RGB"
    np.testing.assert_array_equal(np.asarray(img), rgb)


def test_add_images_grid(tmp_path):
    rng = np.random.default_rng(3)
    batch = rng.uniform(0, 1, (10, 1, 2, 3)).astype(np.float32)
    nhwc = rng.integers(0, 256, (3, 2, 2, 3), dtype=np.uint8)
    with SummaryWriter(tmp_path) as w:
        w.add_images("batch", rtorch.tensor(batch), 5)
        w.add_images("nhwc", nhwc, 5, dataformats="NHWC")
    got = {v["tag"]: _pixels(v["image"]) for _, v in summary_values(the_events(tmp_path))}
    # 10 images in rows of 8: a 2 x 8 grid, the last 6 tiles black.
    ref = np.zeros((4, 24, 3), dtype=np.uint8)
    for i in range(10):
        r, c = divmod(i, 8)
        tile = np.clip(batch[i, 0] * np.float32(255), 0, 255).astype(np.uint8)
        ref[2 * r : 2 * r + 2, 3 * c : 3 * c + 3] = tile[:, :, None]
    np.testing.assert_array_equal(got["batch"], ref)
    np.testing.assert_array_equal(got["nhwc"], np.concatenate(list(nhwc), axis=1))


def test_add_image_errors(tmp_path):
    with SummaryWriter(tmp_path) as w:
        with pytest.raises(AssertionError, match="size of input tensor and input format"):
            w.add_image("x", np.zeros((3, 4)))
        with pytest.raises(AssertionError, match="same dimension shorthand twice"):
            w.add_image("x", np.zeros((3, 4, 4)), dataformats="CHH")
        with pytest.raises(AssertionError, match="3 channels"):
            w.add_images("x", np.zeros((2, 4, 3, 3)))


def test_add_figure_needs_matplotlib(tmp_path):
    if importlib.util.find_spec("matplotlib") is None:
        with SummaryWriter(tmp_path) as w, pytest.raises(ModuleNotFoundError, match="matplotlib"):
            w.add_figure("fig", object())
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(2, 1), dpi=20)
    fig.patch.set_facecolor((1.0, 0.0, 0.0))
    with SummaryWriter(tmp_path) as w:
        w.add_figure("fig", fig, 1)
    ((_, v),) = summary_values(the_events(tmp_path))
    px = _pixels(v["image"])
    assert px.shape == (20, 40, 3)
    assert (px == [255, 0, 0]).all()


# ---- custom scalars, embeddings -------------------------------------------------------


def test_add_custom_scalars(tmp_path):
    with SummaryWriter(tmp_path) as w:
        w.add_custom_scalars(
            {
                "Taiwan": {"twse": ["Multiline", ["twse/0050", "twse/2330"]]},
                "USA": {"dow": ["Margin", ["dow/a", "dow/b", "dow/c"]]},
            }
        )
        w.add_custom_scalars_multilinechart(["a", "b"])
        w.add_custom_scalars_marginchart(["v", "lo", "hi"], category="cat", title="m")
        with pytest.raises(AssertionError, match="Expected 3 tags, got 2"):
            w.add_custom_scalars_marginchart(["v", "lo"])
        with pytest.raises(AssertionError, match="len\\(tags\\) != 3"):
            w.add_custom_scalars({"c": {"t": ["Margin", ["a"]]}})
    vals = summary_values(the_events(tmp_path))
    layouts = []
    for step, v in vals:
        assert step == 0 and v["tag"] == "custom_scalars__config__"
        assert v["metadata"] == {"plugin_data": {"plugin_name": "custom_scalars"}}
        t = v["tensor"]
        assert t["dtype"] == 7 and t["tensor_shape"] == {}
        (raw,) = t["string_val"]
        layouts.append(decode(raw, LAYOUT))
    assert layouts == [
        {
            "category": [
                {
                    "title": "Taiwan",
                    "chart": [{"title": "twse", "multiline": {"tag": ["twse/0050", "twse/2330"]}}],
                },
                {
                    "title": "USA",
                    "chart": [
                        {
                            "title": "dow",
                            "margin": {
                                "series": [{"value": "dow/a", "lower": "dow/b", "upper": "dow/c"}]
                            },
                        }
                    ],
                },
            ]
        },
        {
            "category": [
                {
                    "title": "default",
                    "chart": [{"title": "untitled", "multiline": {"tag": ["a", "b"]}}],
                }
            ]
        },
        {
            "category": [
                {
                    "title": "cat",
                    "chart": [
                        {
                            "title": "m",
                            "margin": {"series": [{"value": "v", "lower": "lo", "upper": "hi"}]},
                        }
                    ],
                }
            ]
        },
    ]


def test_add_embedding(tmp_path, capsys):
    rng = np.random.default_rng(7)
    mat = rng.normal(size=(5, 3)).astype(np.float32)
    imgs = rng.uniform(0, 1, (5, 3, 2, 4)).astype(np.float32)
    with SummaryWriter(tmp_path) as w:
        w.add_embedding(
            rtorch.tensor(mat),
            metadata=["a", 'q"t', "é", 3, "x"],
            label_img=rtorch.tensor(imgs),
            tag="my/tag",
        )
        w.add_embedding(
            np.arange(6).reshape(3, 2),
            metadata=[[1, 2], [3, 4], [5, 6]],
            metadata_header=["h1", "h2"],
            global_step=12,
        )
        w.add_embedding(np.zeros((1, 2)), global_step=12)  # the same directory again
        assert "Embedding dir exists" in capsys.readouterr().out
        with pytest.raises(AssertionError, match="#labels"):
            w.add_embedding(np.zeros((2, 2)), metadata=["a"], global_step=99)
        with pytest.raises(AssertionError, match="#images"):
            w.add_embedding(np.zeros((2, 2)), label_img=np.zeros((3, 3, 2, 2)), global_step=98)
        with pytest.raises(AssertionError, match="mat should be 2D"):
            w.add_embedding(np.zeros(3), global_step=97)
    d = tmp_path / "00000" / "my%2ftag"
    rows = [line.split("\t") for line in (d / "tensors.tsv").read_text().splitlines()]
    assert np.array([[float(x) for x in r] for r in rows], np.float32).tobytes() == mat.tobytes()
    assert (d / "metadata.tsv").read_bytes() == 'a\nq"t\né\n3\nx\n'.encode()
    # 5 images: 3 per row (ceil(sqrt 5)), 2 rows of 2 px on a 12 x 12 canvas.
    ref = np.zeros((12, 12, 3))
    for i in range(5):
        r, c = divmod(i, 3)
        ref[2 * r : 2 * r + 2, 4 * c : 4 * c + 4] = imgs[i].transpose(1, 2, 0)
    np.testing.assert_array_equal(
        decode_png((d / "sprite.png").read_bytes()), np.uint8((ref * 255).clip(0, 255))
    )
    d12 = tmp_path / "00012" / "default"
    assert (d12 / "metadata.tsv").read_text() == "h1\th2\n1\t2\n3\t4\n5\t6\n"
    assert (d12 / "tensors.tsv").read_text() == "0.0\t0.0\n"  # overwritten by the third call
    assert (tmp_path / "projector_config.pbtxt").read_text() == (
        "embeddings {\n"
        '  tensor_name: "my/tag:00000"\n'
        '  metadata_path: "00000/my%2ftag/metadata.tsv"\n'
        "  sprite {\n"
        '    image_path: "00000/my%2ftag/sprite.png"\n'
        "    single_image_dim: 4\n"
        "    single_image_dim: 2\n"
        "  }\n"
        '  tensor_path: "00000/my%2ftag/tensors.tsv"\n'
        "}\n"
        "embeddings {\n"
        '  tensor_name: "default:00012"\n'
        '  metadata_path: "00012/default/metadata.tsv"\n'
        '  tensor_path: "00012/default/tensors.tsv"\n'
        "}\n"
        "embeddings {\n"
        '  tensor_name: "default:00012"\n'
        '  tensor_path: "00012/default/tensors.tsv"\n'
        "}\n"
    )


# ---- meshes, boxes, videos ------------------------------------------------------------

MESH_DATA = {
    1: ("version", "int"),
    2: ("name", "str"),
    3: ("content_type", "int"),
    5: ("json_config", "str"),
    6: ("shape", "packed_int"),
    7: ("components", "int"),
}


def test_add_mesh(tmp_path):
    vertices = [[[1.0, 1.0, 1.0], [-1.0, -1.0, 1.0], [1.0, -1.0, -1.0], [-1.0, 1.0, -1.0]]]
    colors = [[[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 0, 255]]]
    faces = [[[0, 2, 3], [0, 3, 1], [0, 1, 2], [1, 3, 2]]]
    config = {"camera": {"cls": "PerspectiveCamera", "fov": 75}}
    with SummaryWriter(tmp_path) as w:
        w.add_mesh(
            "m",
            rtorch.tensor(vertices),
            colors=rtorch.tensor(colors, dtype=rtorch.int32),
            faces=np.array(faces),
            config_dict=config,
            global_step=3,
        )
        w.add_mesh("cloud", rtorch.tensor(vertices))
        with pytest.raises(ValueError, match="BxNx3"):
            w.add_mesh("bad", rtorch.zeros(4, 3))
    vals = summary_values(the_events(tmp_path))
    assert [(s, v["tag"]) for s, v in vals] == [
        (3, "m_VERTEX"),
        (3, "m_FACE"),
        (3, "m_COLOR"),
        (0, "cloud_VERTEX"),
    ]
    for (_, v), data, kind in zip(vals, (vertices, faces, colors, vertices), (1, 2, 3, 1)):
        assert v["tensor"]["dtype"] == 1
        assert v["tensor"]["tensor_shape"] == {"dim": [{"size": 1}, {"size": 4}, {"size": 3}]}
        assert v["tensor"]["float_val"] == np.array(data, np.float64).reshape(-1).tolist()
        assert v["metadata"]["plugin_data"]["plugin_name"] == "mesh"
        content = decode(v["metadata"]["plugin_data"]["content"], MESH_DATA)
        full = v["tag"].startswith("m_")
        assert content == {
            "name": "m" if full else "cloud",
            "content_type": kind,
            "json_config": '{"camera": {"cls": "PerspectiveCamera", "fov": 75}}' if full else "{}",
            "shape": [1, 4, 3],
            "components": 0b1110 if full else 0b10,
        }


def test_add_image_with_boxes(tmp_path):
    pytest.importorskip("PIL")
    img = np.zeros((3, 20, 30), dtype=np.float32)
    box = np.array([[5.0, 4.0, 15.0, 12.0]])
    with SummaryWriter(tmp_path) as w:
        w.add_image_with_boxes("plain", img, box, 1)
        w.add_image_with_boxes("mismatch", img, box, 1, labels=["a", "b"])  # ignored
        w.add_image_with_boxes("label", img, rtorch.tensor(box), 1, labels="cat")
        w.add_image_with_boxes("big", img, box, 1, rescale=2)
    got = {v["tag"]: v["image"] for _, v in summary_values(the_events(tmp_path))}
    plain = _pixels(got["plain"])
    red = np.all(plain == [255, 0, 0], axis=2)
    assert np.all(plain[~red] == 0)  # only red or untouched
    ys, xs = np.nonzero(red)
    # A 2-pixel outline: every red pixel within one pixel of the rectangle's border.
    near_x = (np.abs(xs - 5) <= 1) | (np.abs(xs - 15) <= 1)
    near_y = (np.abs(ys - 4) <= 1) | (np.abs(ys - 12) <= 1)
    assert np.all((near_x & (ys >= 3) & (ys <= 13)) | (near_y & (xs >= 4) & (xs <= 16)))
    for y, x in ((4, 5), (4, 15), (12, 5), (12, 15), (8, 5), (8, 15), (4, 10), (12, 10)):
        assert red[y, x], (y, x)
    assert not red[8, 10] and not red[0, 0]
    np.testing.assert_array_equal(_pixels(got["mismatch"]), plain)
    labelled = decode_png(got["label"]["encoded_image_string"])
    assert (labelled != plain).any()  # the label's box and text
    big = got["big"]
    # The recorded size is the one before rescaling, as in PyTorch; the PNG is 2x.
    assert (big["height"], big["width"], big["colorspace"]) == (20, 30, 3)
    assert decode_png(big["encoded_image_string"]).shape == (40, 60, 3)


@pytest.mark.parametrize("batch", [1, 3, 4])
def test_add_video(tmp_path, batch):
    pil = pytest.importorskip("PIL.Image")
    rng = np.random.default_rng(8)
    t, c, h, w = 3, 3, 4, 5
    vid = rng.integers(0, 2, (batch, t, c, h, w)).astype(np.uint8) * 255
    with SummaryWriter(tmp_path) as wr:
        wr.add_video("v", rtorch.tensor(vid.tolist(), dtype=rtorch.uint8), 6, fps=5)
    ((step, v),) = summary_values(the_events(tmp_path))
    # The batch is padded to a power of two; rows = 2 ** ((bits(batch) - 1) // 2).
    rows, cols = {1: (1, 1), 3: (1, 4), 4: (2, 2)}[batch]
    assert step == 6
    assert (v["image"]["height"], v["image"]["width"], v["image"]["colorspace"]) == (
        rows * h,
        cols * w,
        c,
    )
    gif = pil.open(io.BytesIO(v["image"]["encoded_image_string"]))
    assert gif.format == "GIF" and gif.n_frames == t
    for f in range(t):
        gif.seek(f)
        assert gif.info["duration"] == 200
        frame = np.asarray(gif.convert("RGB"))
        ref = np.zeros((rows * h, cols * w, 3), dtype=np.uint8)
        for i in range(batch):
            r, col = divmod(i, cols)
            ref[r * h : (r + 1) * h, col * w : (col + 1) * w] = vid[i, f].transpose(1, 2, 0)
        np.testing.assert_array_equal(frame, ref)


# ---- audio --------------------------------------------------------------------------


def test_add_audio(tmp_path, capsys):
    t = np.linspace(0, 1, 200, endpoint=False)
    snd = 0.8 * np.sin(2 * np.pi * 5 * t)
    loud = np.array([[-2.0, 0.5, 3.0]])
    with SummaryWriter(tmp_path) as w:
        w.add_audio("sine", rtorch.tensor(snd[None, :]), 2, sample_rate=8000)
        w.add_audio("loud", loud, 3)
    assert "auto clipped" in capsys.readouterr().out
    vals = summary_values(the_events(tmp_path))
    for (step, v), signal, rate in (
        (vals[0], snd, 8000),
        (vals[1], np.clip(loud[0], -1, 1), 44100),
    ):
        a = v["audio"]
        assert a["sample_rate"] == rate and a["num_channels"] == 1
        assert a["length_frames"] == signal.size and a["content_type"] == "audio/wav"
        with wave.open(io.BytesIO(a["encoded_audio_string"])) as wav:
            assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, rate)
            pcm = np.frombuffer(wav.readframes(wav.getnframes()), "<i2")
        np.testing.assert_array_equal(pcm, np.trunc(signal * 32767).astype(np.int16))
    with SummaryWriter(tmp_path / "e") as w, pytest.raises(AssertionError, match="1 dimensional"):
        w.add_audio("x", np.zeros((2, 3)))


# ---- PR curves ------------------------------------------------------------------------


def _reference_pr(labels, preds, n, weights=None):
    weights = np.ones_like(preds) if weights is None else np.broadcast_to(weights, preds.shape)
    bucket = np.floor(preds * (n - 1))
    rows = []
    for i in range(n):
        at = bucket >= i
        tp = float((weights * labels * at).sum())
        fp = float((weights * (1 - labels) * at).sum())
        rows.append((tp, fp))
    tp0, fp0 = rows[0]
    out = np.zeros((6, n))
    for i, (tp, fp) in enumerate(rows):
        out[:, i] = [tp, fp, fp0 - fp, tp0 - tp, tp / max(1e-7, tp + fp), tp / max(1e-7, tp0)]
    return out


def test_add_pr_curve(tmp_path):
    rng = np.random.default_rng(4)
    labels = rng.integers(0, 2, 60)
    preds = rng.uniform(0, 1, 60)
    weights = rng.uniform(0.5, 2, 60)
    with SummaryWriter(tmp_path) as w:
        w.add_pr_curve(
            "pr",
            rtorch.tensor(labels.tolist()),
            rtorch.tensor(preds.tolist(), dtype=rtorch.float64),
            1,
            num_thresholds=11,
        )
        w.add_pr_curve("weighted", labels, preds, 2, num_thresholds=500, weights=weights)
    (s1, v1), (s2, v2) = summary_values(the_events(tmp_path))
    for v, n, wts in ((v1, 11, None), (v2, 127, weights)):
        content = decode(
            v["metadata"]["plugin_data"]["content"],
            {1: ("version", "int"), 2: ("num_thresholds", "int")},
        )
        assert v["metadata"]["plugin_data"]["plugin_name"] == "pr_curves"
        assert content == {"num_thresholds": n}
        t = v["tensor"]
        assert t["dtype"] == 1 and t["tensor_shape"] == {"dim": [{"size": 6}, {"size": n}]}
        ref = _reference_pr(labels, preds, n, wts).astype(np.float32).reshape(-1)
        np.testing.assert_allclose(np.array(t["float_val"], np.float32), ref, rtol=1e-6, atol=1e-6)
    assert (s1, s2) == (1, 2)


def test_add_pr_curve_raw(tmp_path):
    cols = [
        np.array([3.0, 2.0]),
        np.array([2.0, 1.0]),
        np.array([0.0, 1.0]),
        np.array([0.0, 1.0]),
        np.array([0.6, 2 / 3]),
        np.array([1.0, 2 / 3]),
    ]
    with SummaryWriter(tmp_path) as w:
        w.add_pr_curve_raw("raw", *cols, global_step=9, num_thresholds=2)
    ((step, v),) = summary_values(the_events(tmp_path))
    assert step == 9
    assert v["tensor"]["tensor_shape"] == {"dim": [{"size": 6}, {"size": 2}]}
    assert v["tensor"]["float_val"] == np.stack(cols).astype(np.float32).reshape(-1).tolist()


# ---- hparams ------------------------------------------------------------------------


def test_add_hparams(tmp_path):
    with SummaryWriter(tmp_path) as w:
        w.add_hparams(
            {
                "lr": 0.01,
                "bsize": 32,
                "opt": "adam",
                "use_bn": True,
                "skip": None,
                "wd": rtorch.tensor([1e-4]),
            },
            {"hparam/accuracy": 0.9, "hparam/loss": 0.25},
            hparam_domain_discrete={"opt": ["adam", "sgd"], "bsize": [16, 32]},
            run_name="trial",
            global_step=4,
        )
    events = the_events(tmp_path / "trial")
    assert events[0]["file_version"] == "brain.Event:2"
    vals = summary_values(events)
    assert [v["tag"] for _, v in vals] == [
        "_hparams_/experiment",
        "_hparams_/session_start_info",
        "_hparams_/session_end_info",
        "hparam/accuracy",
        "hparam/loss",
    ]
    assert all(s == 4 for s, _ in vals)
    plugin = [decode(v["metadata"]["plugin_data"]["content"], HPARAMS_DATA) for _, v in vals[:3]]
    assert all(v["metadata"]["plugin_data"]["plugin_name"] == "hparams" for _, v in vals[:3])
    assert all("tensor" not in v and "simple_value" not in v for _, v in vals[:3])
    exp = plugin[0]["experiment"]
    assert "version" not in plugin[0]  # version 0
    assert exp["hparam_infos"] == [
        {"name": "lr", "type": 3},
        {
            "name": "bsize",
            "type": 3,
            "domain_discrete": {"values": [{"number_value": 16.0}, {"number_value": 32.0}]},
        },
        {
            "name": "opt",
            "type": 1,
            "domain_discrete": {"values": [{"string_value": "adam"}, {"string_value": "sgd"}]},
        },
        # bool is an int in Python: logged as a number, as PyTorch does.
        {"name": "use_bn", "type": 3},
        {"name": "wd", "type": 3},
    ]
    assert exp["metric_infos"] == [
        {"name": {"tag": "hparam/accuracy"}},
        {"name": {"tag": "hparam/loss"}},
    ]
    start = {e["key"]: e["value"] for e in plugin[1]["session_start_info"]["hparams"]}
    assert start == {
        "lr": {"number_value": 0.01},
        "bsize": {"number_value": 32.0},
        "opt": {"string_value": "adam"},
        "use_bn": {"number_value": 1.0},
        "wd": {"number_value": float(np.float32(1e-4))},
    }
    assert plugin[2] == {"session_end_info": {"status": 1}}
    assert [v["simple_value"] for _, v in vals[3:]] == [np.float32(0.9), 0.25]
    # The parent run holds only its header; without run_name the sub-directory is a time.
    assert len(the_events(tmp_path)) == 1


def test_add_hparams_default_run_name_and_errors(tmp_path):
    w = SummaryWriter(tmp_path)
    t0 = time.time()
    w.add_hparams({"a": 1}, {"m": 2.0})
    (sub,) = [p for p in os.listdir(tmp_path) if (tmp_path / p).is_dir()]
    assert abs(float(sub) - t0) < 60
    with pytest.raises(TypeError, match="should be dictionary"):
        w.add_hparams([("a", 1)], {})
    with pytest.raises(ValueError, match="value should be one of"):
        w.add_hparams({"a": [1, 2]}, {})
    with pytest.raises(TypeError, match=r"hparam_domain_discrete\[a\]"):
        w.add_hparams({"a": 1}, {}, hparam_domain_discrete={"a": ["x"]})
    with pytest.raises(TypeError, match=r"hparam_domain_discrete\[b\]"):
        w.add_hparams({"a": 1}, {}, hparam_domain_discrete={"b": [1]})
    w.close()


# ---- not supported ------------------------------------------------------------------


def test_add_graph_not_supported(tmp_path):
    with SummaryWriter(tmp_path) as w:
        with pytest.raises(NotImplementedError, match="no tracer"):
            w.add_graph(rtorch.nn.Linear(2, 2), rtorch.zeros(1, 2))
        with pytest.raises(NotImplementedError, match="add_onnx_graph"):
            w.add_onnx_graph("model.onnx")


# ---- queueing, flushing, closing, purge_step ----------------------------------------


def test_max_queue_flush_and_close(tmp_path):
    w = SummaryWriter(tmp_path, max_queue=3, flush_secs=1000)
    (path,) = event_files(tmp_path)
    assert len(read_records(path)) == 1  # the header is written at once
    w.add_scalar("a", 1.0)
    w.add_scalar("a", 2.0)
    assert len(read_records(path)) == 1
    w.add_scalar("a", 3.0)  # the third queued event writes the queue out
    assert len(read_records(path)) == 4
    w.add_scalar("a", 4.0)
    assert len(read_records(path)) == 4
    w.flush()
    assert len(read_records(path)) == 5
    w.add_scalar("a", 5.0)
    w.close()
    w.close()  # twice is fine
    assert [v["simple_value"] for _, v in summary_values(read_events(path))] == [1, 2, 3, 4, 5]
    assert w.file_writer is None and w.all_writers is None
    # Logging after close opens a new file, as PyTorch.
    time.sleep(0.01)
    w.add_scalar("a", 6.0)
    w.close()
    files = event_files(tmp_path)
    assert len(files) == 2
    new = next(f for f in files if f != path)
    assert [v["simple_value"] for _, v in summary_values(read_events(new))] == [6.0]


def test_flush_secs_writes_in_background(tmp_path):
    w = SummaryWriter(tmp_path, max_queue=100, flush_secs=0.2)
    (path,) = event_files(tmp_path)
    w.add_scalar("a", 1.0)
    deadline = time.time() + 10
    while len(read_records(path)) < 2 and time.time() < deadline:
        time.sleep(0.05)
    assert len(read_records(path)) == 2
    w.close()


def test_dropped_writer_still_writes(tmp_path):
    w = SummaryWriter(tmp_path, max_queue=100, flush_secs=1000)
    w.add_scalar("a", 1.0)
    (path,) = event_files(tmp_path)
    del w
    import gc

    gc.collect()
    assert len(read_records(path)) == 2


def test_context_manager_and_purge_step(tmp_path):
    with SummaryWriter(tmp_path, purge_step=42) as w:
        w.add_scalar("a", 1.0, 42)
    assert w.all_writers is None
    events = the_events(tmp_path)
    assert events[0]["file_version"] == "brain.Event:2" and "step" not in events[0]
    assert events[1]["file_version"] == "brain.Event:2" and events[1]["step"] == 42
    assert events[2]["session_log"] == {"status": 1} and events[2]["step"] == 42
    assert summary_values(events) == [(42, {"tag": "a", "simple_value": 1.0})]


# ---- TensorBoard reads our files ----------------------------------------------------


def test_tensorboard_event_accumulator_reads_our_files(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    img = np.random.default_rng(5).uniform(0, 1, (3, 4, 5)).astype(np.float32)
    with SummaryWriter(tmp_path) as w:
        for step in range(3):
            w.add_scalar("loss", 1.0 / (step + 1), step)
        w.add_histogram("w", np.arange(100.0), 1)
        w.add_image("img", img, 2)
        w.add_text("note", "hello", 0)
    acc = EventAccumulator(str(tmp_path), size_guidance={"tensors": 0})
    acc.Reload()
    assert [(e.step, e.value) for e in acc.Scalars("loss")] == [
        (0, 1.0),
        (1, 0.5),
        (2, np.float32(1 / 3)),
    ]
    h = acc.Histograms("w")[0].histogram_value
    assert (h.min, h.max, h.num, h.sum) == (0.0, 99.0, 100.0, 4950.0)
    im = acc.Images("img")[0]
    assert (im.step, im.width, im.height) == (2, 5, 4)
    np.testing.assert_array_equal(
        decode_png(im.encoded_image_string),
        np.clip(img.transpose(1, 2, 0) * np.float32(255), 0, 255).astype(np.uint8),
    )
    (t,) = acc.Tensors("note/text_summary")
    assert t.tensor_proto.string_val == [b"hello"]


# ---- parity with PyTorch ------------------------------------------------------------


def _normalize(events: list[dict]) -> list:
    """Events without wall times and writer names, images as pixels, plugin contents
    decoded: what must agree between PyTorch's files and ours."""
    out = []
    for e in events:
        e = {k: v for k, v in e.items() if k not in ("wall_time", "source_metadata")}
        for v in e.get("summary", {}).get("value", []):
            if "image" in v:
                v["image"]["encoded_image_string"] = decode_png(
                    v["image"]["encoded_image_string"]
                ).tolist()
            pd = v.get("metadata", {}).get("plugin_data", {})
            if pd.get("plugin_name") == "hparams":
                pd["content"] = decode(pd["content"], HPARAMS_DATA)
                start = pd["content"].get("session_start_info")
                if start:  # a protobuf map: its order on the wire is unspecified
                    start["hparams"] = {e["key"]: e["value"] for e in start["hparams"]}
        out.append(e)
    return out


def _log_everything(writer_cls, lib, root: str) -> None:
    rng = np.random.default_rng(6)
    hist = rng.normal(size=300)
    img = rng.uniform(0, 1, (3, 4, 6)).astype(np.float32)
    imgs = rng.uniform(0, 1, (9, 1, 2, 3)).astype(np.float32)
    labels = rng.integers(0, 2, 40)
    preds = rng.uniform(0, 1, 40)
    snd = np.sin(np.linspace(0, 6, 50))
    with writer_cls(os.path.join(root, "run"), purge_step=3) as w:
        for step in range(4):
            w.add_scalar("loss", 1.0 / (step + 1), step, walltime=10.0 + step)
            w.add_scalar("t", lib.tensor(step * 0.25), step)
        w.add_scalar("zero", 0.0, 1)
        w.add_scalar("new", 0.3, 2, new_style=True)
        w.add_scalar("new64", 0.3, 2, new_style=True, double_precision=True)
        w.add_scalars("grp/a", {"x": 1.0, "y": 2.0}, 5)
        w.add_histogram("h", lib.tensor(hist), 1)
        w.add_histogram("h_auto", hist, 1, bins="auto", max_bins=4)
        w.add_histogram("h_one", 3.0, 1)
        w.add_histogram_raw("raw", 0.0, 2.0, 3, 3.0, 5.0, [1.0, 2.0], [2.0, 1.0], 2)
        w.add_text("txt", "héllo", 6)
        w.add_image("img", lib.tensor(img), 7)
        w.add_image("img_hw", img[0], 7, dataformats="HW")
        w.add_images("imgs", imgs, 8)
        w.add_audio("snd", lib.tensor(snd), 9, sample_rate=16000)
        w.add_pr_curve("pr", labels, preds, 10, num_thresholds=21)
        w.add_tensor("tens", lib.tensor([[1.5, 2.0], [3.0, 4.0]]), 11)
        w.add_tensor("tens_i", lib.tensor([1, -2, 3]), 11)
        w.add_mesh(
            "mesh",
            lib.tensor(rng.normal(size=(1, 5, 3))),
            colors=lib.tensor(rng.integers(0, 256, (1, 5, 3))),
            config_dict={"a": 1},
        )
        w.add_image_with_boxes(
            "boxes",
            lib.tensor(img),
            lib.tensor([[0.5, 1.0, 4.0, 3.0]]),
            3,
            labels=["x"],
            rescale=1.5,
        )
        w.add_custom_scalars(
            {"c": {"m": ["Multiline", ["loss", "t"]], "g": ["Margin", ["a", "b", "c"]]}}
        )
        w.add_embedding(
            lib.tensor(rng.normal(size=(4, 3))),
            metadata=["x", "y", 'z"', "w"],
            label_img=lib.tensor(rng.uniform(0, 1, (4, 3, 2, 3))),
            tag="e/1",
            global_step=2,
        )
        w.add_embedding(
            lib.tensor([[1, 2], [3, 4]]), metadata=[[1, "a"], [2, "b"]], metadata_header=["n", "s"]
        )
        w.add_hparams(
            {"lr": 0.1, "opt": "sgd", "n": 3},
            {"acc": 0.5},
            run_name="hp",
            hparam_domain_discrete={"opt": ["sgd", "adam"]},
        )


def test_parity_with_pytorch(tmp_path, torch_ref):
    torch = torch_ref
    pytest.importorskip("tensorboard")
    from torch.utils.tensorboard import SummaryWriter as TorchWriter

    _log_everything(TorchWriter, torch, str(tmp_path / "torch"))
    _log_everything(SummaryWriter, rtorch, str(tmp_path / "rtorch"))
    dirs = sorted(
        os.path.relpath(d, tmp_path / "torch") for d, _, fs in os.walk(tmp_path / "torch") if fs
    )
    assert dirs == sorted(
        os.path.relpath(d, tmp_path / "rtorch") for d, _, fs in os.walk(tmp_path / "rtorch") if fs
    )
    assert len(dirs) == 6  # run, run/grp_a_x, run/grp_a_y, run/hp, two embeddings
    for d in dirs:
        for name in os.listdir(tmp_path / "torch" / d):
            if name.startswith("events.out.tfevents.") or (tmp_path / "torch" / d / name).is_dir():
                continue
            a, b = (tmp_path / lib / d / name for lib in ("torch", "rtorch"))
            if name.endswith(".png"):
                np.testing.assert_array_equal(
                    decode_png(a.read_bytes()), decode_png(b.read_bytes())
                )
            else:
                assert a.read_bytes() == b.read_bytes(), name
        if not event_files(tmp_path / "torch" / d):
            continue
        theirs = _normalize(the_events(tmp_path / "torch" / d))
        ours = _normalize(the_events(tmp_path / "rtorch" / d))
        assert len(theirs) == len(ours), d
        for a, b in zip(theirs, ours):
            assert a == b, d


def test_parity_summary_values_with_special_floats(tmp_path, torch_ref):
    torch = torch_ref
    pytest.importorskip("tensorboard")
    from torch.utils.tensorboard import SummaryWriter as TorchWriter

    values = [math.inf, -math.inf, -0.0, 1e300, 5e-324]
    for cls, lib, name in ((TorchWriter, torch, "torch"), (SummaryWriter, rtorch, "rtorch")):
        with cls(str(tmp_path / name)) as w:
            for i, x in enumerate(values):
                w.add_scalar("s", x, i)
                w.add_scalar("n", x, i, new_style=True, double_precision=True)
            w.add_scalar("nan", float("nan"))
            w.add_scalar("nan_t", lib.tensor(float("nan")))

    def norm(d):
        vals = summary_values(the_events(tmp_path / d))
        return [
            (
                s,
                v["tag"],
                struct.pack("<f", v["simple_value"]) if "simple_value" in v else v["tensor"],
            )
            for s, v in vals
        ]

    theirs, ours = norm("torch"), norm("rtorch")
    assert len(theirs) == len(ours) == 2 * len(values) + 2
    for a, b in zip(theirs, ours):
        if isinstance(a[2], dict):
            assert a[:2] == b[:2]
            assert struct.pack("<d", *a[2]["double_val"]) == struct.pack("<d", *b[2]["double_val"])
        else:
            assert a == b


# ---- the summary module -----------------------------------------------------------------

SUMMARY = {1: ("value", VALUE, "repeated")}


def test_summary_module_with_file_writer(tmp_path):
    from rtorch.utils.tensorboard import summary

    exp, ssi, sei = summary.hparams({"lr": 0.5}, {"m": 1.0})
    with SummaryWriter(tmp_path) as w:
        fw = w._get_file_writer()
        for s in (exp, ssi, sei):
            fw.add_summary(s, 2)
        fw.add_summary(summary.scalar("x", rtorch.tensor([3.0])), 4, walltime=7.0)
    events = the_events(tmp_path)
    vals = summary_values(events)
    assert [(s, v["tag"]) for s, v in vals] == [
        (2, "_hparams_/experiment"),
        (2, "_hparams_/session_start_info"),
        (2, "_hparams_/session_end_info"),
        (4, "x"),
    ]
    assert vals[3][1]["simple_value"] == 3.0 and events[-1]["wall_time"] == 7.0
    # image() with rescale: the PNG is resized, the recorded size is the original one.
    pytest.importorskip("PIL")
    (v,) = decode(
        summary.image("im", np.zeros((3, 4, 6)), rescale=0.5, dataformats="CHW"), SUMMARY
    )["value"]
    assert (v["image"]["height"], v["image"]["width"]) == (4, 6)
    assert decode_png(v["image"]["encoded_image_string"]).shape == (2, 3, 3)
    (m,) = decode(
        summary.mesh("m", np.zeros((1, 2, 3)), None, None, None, "shown", "about"), SUMMARY
    )["value"]
    assert (
        m["metadata"]["display_name"] == "shown" and m["metadata"]["summary_description"] == "about"
    )


def test_parity_summary_module(torch_ref):
    pytest.importorskip("tensorboard")
    from torch.utils.tensorboard import summary as theirs

    from rtorch.utils.tensorboard import summary as ours

    rng = np.random.default_rng(9)
    x = rng.normal(size=50)
    labels, preds = rng.integers(0, 2, 30), rng.uniform(0, 1, 30)
    pairs = [
        (theirs.scalar("s", 0.25, new_style=True), ours.scalar("s", 0.25, new_style=True)),
        (theirs.histogram("h", x, "auto"), ours.histogram("h", x, "auto")),
        (
            theirs.histogram_raw("r", 0, 1, 2, 1, 1, [0.5, 1.0], [1, 1]),
            ours.histogram_raw("r", 0, 1, 2, 1, 1, [0.5, 1.0], [1, 1]),
        ),
        (theirs.text("t", "hi"), ours.text("t", "hi")),
        (theirs.pr_curve("p", labels, preds, 9), ours.pr_curve("p", labels, preds, 9)),
        (
            theirs.tensor_proto("tp", torch_ref.tensor([1.0, 2.0])),
            ours.tensor_proto("tp", rtorch.tensor([1.0, 2.0])),
        ),
        (
            theirs.mesh(
                "m", torch_ref.tensor(rng.normal(size=(1, 3, 3))), None, None, {"k": 1}, "d", "e"
            ),
            ours.mesh(
                "m", rtorch.tensor(rng.normal(size=(1, 3, 3))), None, None, {"k": 1}, "d", "e"
            ),
        ),
        (
            theirs.custom_scalars({"c": {"t": ["Multiline", ["a"]]}}),
            ours.custom_scalars({"c": {"t": ["Multiline", ["a"]]}}),
        ),
    ]
    for a, b in pairs[:-2]:
        assert decode(a.SerializeToString(), SUMMARY) == decode(b, SUMMARY)
    # The mesh vertices differ (each side drew its own), the metadata must not.
    (ma,), (mb,) = (
        decode(p, SUMMARY)["value"] for p in (pairs[-2][0].SerializeToString(), pairs[-2][1])
    )
    assert ma["metadata"] == mb["metadata"] and ma["tag"] == mb["tag"]
    assert decode(pairs[-1][0].SerializeToString(), SUMMARY) == decode(pairs[-1][1], SUMMARY)


def test_file_writer_stamps_serialized_events(tmp_path):
    from rtorch.utils.tensorboard import FileWriter
    from rtorch.utils.tensorboard import summary as ours

    fw = FileWriter(tmp_path)
    assert fw.get_logdir() == str(tmp_path)
    # A serialized Event keeps its own time unless stamped; stamps win over it.
    fw.add_event(struct.pack("<Bd", 0x09, 5.0))  # wall_time = 5.0
    fw.add_event(struct.pack("<Bd", 0x09, 5.0), step=-3, walltime=8.5)
    fw.add_summary(ours.text("t", "x"), 2, walltime=9.0)
    fw.close()
    events = the_events(tmp_path)
    assert events[1] == {"wall_time": 5.0}
    assert events[2] == {"wall_time": 8.5, "step": -3}
    assert events[3]["wall_time"] == 9.0 and events[3]["step"] == 2
    assert events[3]["summary"]["value"][0]["tag"] == "t/text_summary"


def test_file_writer_takes_tensorboard_protobufs(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.compat.proto.event_pb2 import Event, SessionLog
    from tensorboard.compat.proto.summary_pb2 import Summary

    with SummaryWriter(tmp_path) as w:
        before = time.time()
        w.file_writer.add_event(Event(session_log=SessionLog(status=SessionLog.STOP)), step=4)
        w.file_writer.add_summary(Summary(value=[Summary.Value(tag="a", simple_value=2.0)]), 6, 1.5)
    events = the_events(tmp_path)
    assert events[1]["session_log"] == {"status": 2} and events[1]["step"] == 4
    assert before <= events[1]["wall_time"] <= time.time()
    assert events[2] == {
        "wall_time": 1.5,
        "step": 6,
        "summary": {"value": [{"tag": "a", "simple_value": 2.0}]},
    }
