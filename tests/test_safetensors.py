"""rtorch.safetensors: files of the safetensors package, both ways, and header validation."""

from __future__ import annotations

import json
import os
import pathlib
import struct
import subprocess

import pytest

import rtorch
from rtorch import safetensors as st

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "serialization"
FIXTURE = FIXTURES / "tensors.safetensors"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text())["tensors.safetensors"]
TORCH_PYTHON = os.environ.get("RTORCH_TORCH_PYTHON", "/work/torchvenv/bin/python")


def values(t):
    flat = t.reshape(-1)
    return (flat.to(rtorch.float32) if t.dtype == rtorch.bfloat16 else flat).tolist()


def test_load_file_written_by_safetensors_package():
    tensors = st.load_file(FIXTURE)
    assert set(tensors) == set(EXPECTED["tensors"])
    for name, desc in EXPECTED["tensors"].items():
        t = tensors[name]
        assert repr(t.dtype) == "torch." + desc["__tensor__"], name
        assert list(t.shape) == desc["shape"], name
        assert values(t) == desc["values"], name
    assert st.read_metadata(FIXTURE) == EXPECTED["metadata"]


def test_save_is_byte_identical_to_the_package():
    tensors = st.load_file(FIXTURE)
    data = FIXTURE.read_bytes()
    # The package writes __metadata__ from a hash map; take its key order from the file.
    (n,) = struct.unpack_from("<Q", data)
    metadata = json.loads(data[8 : 8 + n])["__metadata__"]
    assert st.save(tensors, metadata=metadata) == data


@pytest.mark.parametrize("via", ["file", "bytes"])
def test_round_trip_every_dtype(tmp_path, via):
    tensors = {
        "f32": rtorch.arange(6, dtype=rtorch.float32).reshape(2, 3) / 3,
        "f64": rtorch.arange(3, dtype=rtorch.float64) / 7,
        "f16": rtorch.arange(4, dtype=rtorch.float16) / 8,
        "bf16": rtorch.arange(4, dtype=rtorch.bfloat16) / 2,
        "i64": rtorch.arange(3, dtype=rtorch.int64) * 2**40,
        "i32": rtorch.arange(3, dtype=rtorch.int32) - 1,
        "i16": rtorch.arange(3, dtype=rtorch.int16) * 1000,
        "i8": rtorch.arange(3, dtype=rtorch.int8) - 5,
        "u8": rtorch.arange(3, dtype=rtorch.uint8) + 250,
        "bool": rtorch.arange(3) > 0,
        "scalar": rtorch.tensor(1.5),
        "empty": rtorch.zeros(0, 5),
        "slice": rtorch.arange(10.0)[3:7],  # contiguous view with an offset
    }
    if via == "file":
        st.save_file(tensors, tmp_path / "t.safetensors", metadata={"a": "b"})
        back = st.load_file(tmp_path / "t.safetensors")
        assert st.read_metadata(tmp_path / "t.safetensors") == {"a": "b"}
    else:
        back = st.load(st.save(tensors))
    for name, t in tensors.items():
        assert back[name].dtype == t.dtype and back[name].shape == t.shape, name
        assert values(back[name]) == values(t), name


def test_save_refuses_shared_and_non_contiguous():
    base = rtorch.ones(4)
    with pytest.raises(RuntimeError, match="share memory"):
        st.save({"a": base, "b": base[1:]})
    st.save({"a": base[:2], "b": base[2:]})  # disjoint slices of one storage are fine
    with pytest.raises(ValueError, match="non contiguous"):
        st.save({"a": rtorch.ones(2, 3).t()})
    with pytest.raises(TypeError, match="metadata"):
        st.save({"a": base}, metadata={"k": 1})


class Tied(rtorch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = rtorch.nn.Parameter(rtorch.arange(4.0))
        self.b = self.a  # tied: one storage under two names
        self.c = rtorch.nn.Parameter(rtorch.ones(2))


def test_save_model_and_load_model_with_tied_weights(tmp_path):
    model = Tied()
    path = tmp_path / "m.safetensors"
    st.save_model(model, path)
    assert sorted(st.load_file(path)) == ["a", "c"]
    assert st.read_metadata(path) == {"b": "a"}
    fresh = Tied()
    with rtorch.no_grad():
        fresh.a.zero_()
        fresh.c.zero_()
    missing, unexpected = st.load_model(fresh, path)
    assert (missing, unexpected) == ([], [])
    assert fresh.a.tolist() == [0.0, 1.0, 2.0, 3.0] and fresh.c.tolist() == [1.0, 1.0]
    st.save_file({"a": rtorch.ones(4)}, path)
    with pytest.raises(RuntimeError, match='Missing key\\(s\\) in state_dict: "c"'):
        st.load_model(Tied(), path)


def header(obj, pad=b"") -> bytes:
    text = json.dumps(obj).encode() + pad
    return struct.pack("<Q", len(text)) + text


GOOD = {"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"", "HeaderTooSmall"),
        (b"\x01\x02", "HeaderTooSmall"),
        (struct.pack("<Q", 2**63) + b"{}", "HeaderTooLarge"),
        (struct.pack("<Q", 100) + b"{}", "invalid header length"),
        (struct.pack("<Q", 4) + b"[1] ", "invalid header start"),
        (struct.pack("<Q", 4) + b"{no}", "deserializing"),
        (struct.pack("<Q", 2) + b"\xff\xfe", "invalid header start"),
        (header({"x": GOOD["x"], "__metadata__": {"k": 3}}) + bytes(8), "__metadata__"),
        (header({"x": {"dtype": "F99", "shape": [2], "data_offsets": [0, 8]}}) + bytes(8), "dtype"),
        (header({"x": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}}) + bytes(8), "shape"),
        (header({"x": {"dtype": "F32", "shape": [2.0], "data_offsets": [0, 8]}}) + bytes(8), "shape"),
        (header({"x": {"dtype": "F32", "shape": [True], "data_offsets": [0, 4]}}) + bytes(4), "shape"),
        (header({"x": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}) + bytes(8), "TensorInvalidInfo"),
        (header({"x": {"dtype": "F32", "shape": [2**40, 2**40], "data_offsets": [0, 8]}}) + bytes(8), "TensorInvalidInfo"),
        (header({"x": {"dtype": "F32", "shape": [2], "data_offsets": [8, 0]}}) + bytes(8), "data_offsets"),
        (header({"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}) + bytes(4), "MetadataIncompleteBuffer"),
        (header({"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}) + bytes(12), "MetadataIncompleteBuffer"),
        (header({"x": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}) + bytes(12), "InvalidOffset"),
        (header({**GOOD, "y": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}) + bytes(8), "InvalidOffset"),
        (header({"x": {"dtype": "F32", "shape": [2]}}) + bytes(8), "bad entry"),
        (struct.pack("<Q", 16) + b'{"a":1, "a":2}  ', "duplicate key"),
        (header({"x": {"dtype": "BOOL", "shape": [1], "data_offsets": [0, 1]}}) + b"\x07", "bool"),
        (header({"x": {"dtype": "U16", "shape": [1], "data_offsets": [0, 2]}}) + bytes(2), "no dtype"),
    ],
)  # fmt: skip
def test_malformed_headers_raise(data, why):
    with pytest.raises(RuntimeError, match=why):
        st.load(data)


def test_misaligned_data_is_copied_not_misread():
    # A header of odd length puts the float64 data at an odd address.
    data = header({"x": {"dtype": "F64", "shape": [2], "data_offsets": [0, 16]}}, pad=b" ")
    data += struct.pack("<2d", 1.25, -3.5)
    assert st.load(data)["x"].tolist() == [1.25, -3.5]


def test_safetensors_package_reads_rtorch_file(tmp_path):
    if not os.path.exists(TORCH_PYTHON):
        pytest.skip("no interpreter with the safetensors package")
    path = tmp_path / "r.safetensors"
    st.save_file(
        {"w": rtorch.arange(6.0).reshape(2, 3), "i": rtorch.tensor([1, -2], dtype=rtorch.int64)},
        path,
        metadata={"who": "rtorch"},
    )
    script = (
        "import sys; from safetensors import safe_open\n"
        "with safe_open(sys.argv[1], 'numpy') as f:\n"
        "    print(f.metadata(), {k: f.get_tensor(k).tolist() for k in f.keys()})\n"
    )
    done = subprocess.run(
        [TORCH_PYTHON, "-c", script, str(path)], check=False, capture_output=True, text=True
    )
    if "No module named 'safetensors'" in done.stderr:
        pytest.skip("the safetensors package is not installed there")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        "{'who': 'rtorch'} {'i': [1, -2], 'w': [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]}"
    )
