"""rtorch.save / rtorch.load: PyTorch's zip checkpoint format in both directions.

Fixture files under tests/fixtures/serialization/ were written by real PyTorch (see
tests/fixtures/make_serialization_fixtures.py); expected.json describes their contents.
Cross-checks with a live PyTorch run in a subprocess with /work/torchvenv/bin/python and
skip when that interpreter is absent.
"""

from __future__ import annotations

import copy
import io
import json
import math
import os
import pathlib
import pickle
import struct
import subprocess
import zipfile
from collections import OrderedDict

import pytest

import rtorch
from rtorch import _checkpoint_zip, serialization

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "serialization"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text())
TORCH_PYTHON = os.environ.get("RTORCH_TORCH_PYTHON", "/work/torchvenv/bin/python")


# ------------------------------------------------------------------------------------
# Comparing loaded objects with expected.json
# ------------------------------------------------------------------------------------


def tensor_values(t):
    flat = t.detach().reshape(-1)
    if t.dtype == rtorch.bfloat16:
        flat = flat.to(rtorch.float32)
    return flat.tolist()


def same_value(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b and type(a) is type(b)


def assert_matches(obj, desc, where="obj"):
    if isinstance(desc, dict) and "__parameter__" in desc:
        assert type(obj).__name__ == "Parameter", where
        assert obj.requires_grad == desc["requires_grad"], where
        assert_matches(obj.detach(), desc["__parameter__"], where)
    elif isinstance(desc, dict) and "__tensor__" in desc:
        assert isinstance(obj, rtorch.Tensor), where
        assert repr(obj.dtype) == "torch." + desc["__tensor__"], where
        assert list(obj.shape) == desc["shape"], where
        assert list(obj.stride()) == desc["stride"], where
        assert obj.storage_offset() == desc["offset"], where
        assert obj.requires_grad == desc["requires_grad"], where
        got = tensor_values(obj)
        assert len(got) == len(desc["values"]), where
        assert all(same_value(a, b) for a, b in zip(got, desc["values"])), where
    elif isinstance(desc, dict) and "__dtype__" in desc:
        assert obj == getattr(rtorch, desc["__dtype__"]), where
    elif isinstance(desc, dict) and "__size__" in desc:
        assert isinstance(obj, rtorch.Size) and list(obj) == desc["__size__"], where
    elif isinstance(desc, dict) and "__device__" in desc:
        assert isinstance(obj, rtorch.device) and str(obj) == desc["__device__"], where
    elif isinstance(desc, dict) and "__ordereddict__" in desc:
        assert type(obj) is OrderedDict, where
        assert len(obj) == len(desc["__ordereddict__"]), where
        for (k, v), (dk, dv) in zip(obj.items(), desc["__ordereddict__"]):
            assert_matches(k, dk, where)
            assert_matches(v, dv, f"{where}[{k!r}]")
        meta = getattr(obj, "_metadata", None)
        if desc["_metadata"] is None:
            assert meta is None, where
        else:
            assert [[k, v] for k, v in meta.items()] == desc["_metadata"], where
    elif isinstance(desc, dict) and "__dict__" in desc:
        assert type(obj) is dict and len(obj) == len(desc["__dict__"]), where
        for (k, v), (dk, dv) in zip(obj.items(), desc["__dict__"]):
            assert_matches(k, dk, where)
            assert_matches(v, dv, f"{where}[{k!r}]")
    elif isinstance(desc, dict) and "__tuple__" in desc:
        assert type(obj) is tuple and len(obj) == len(desc["__tuple__"]), where
        for i, (v, dv) in enumerate(zip(obj, desc["__tuple__"])):
            assert_matches(v, dv, f"{where}[{i}]")
    elif isinstance(desc, dict) and "__list__" in desc:
        assert type(obj) is list and len(obj) == len(desc["__list__"]), where
        for i, (v, dv) in enumerate(zip(obj, desc["__list__"])):
            assert_matches(v, dv, f"{where}[{i}]")
    elif isinstance(desc, dict) and "__bytes__" in desc:
        assert obj == bytes(desc["__bytes__"]), where
    elif isinstance(desc, dict) and "__nan__" in desc:
        assert isinstance(obj, float) and math.isnan(obj), where
    else:
        assert same_value(obj, desc), f"{where}: {obj!r} != {desc!r}"


# ------------------------------------------------------------------------------------
# Files written by PyTorch
# ------------------------------------------------------------------------------------

PT_FIXTURES = sorted(name for name in EXPECTED if name.endswith(".pt"))


@pytest.mark.parametrize("name", PT_FIXTURES)
def test_load_pytorch_fixture(name):
    assert_matches(rtorch.load(FIXTURES / name), EXPECTED[name], name)


@pytest.mark.parametrize("name", PT_FIXTURES)
def test_load_pytorch_fixture_mmap_and_bytesio(name):
    assert_matches(rtorch.load(FIXTURES / name, mmap=True), EXPECTED[name], name)
    data = (FIXTURES / name).read_bytes()
    assert_matches(rtorch.load(io.BytesIO(data)), EXPECTED[name], name)


def test_pytorch_views_share_storage_after_load():
    views = rtorch.load(FIXTURES / "views.pt")
    ids = {views[k]._storage_id() for k in views}
    assert len(ids) == 1
    views["base"][1, 2] = -1.0  # writing the base shows through every view
    assert views["row"][2].item() == -1.0
    assert views["col"][1].item() == -1.0
    assert views["t"][2, 1].item() == -1.0
    assert views["block"][0, 0].item() == -1.0


def test_pytorch_state_dict_metadata_and_parameters():
    sd = rtorch.load(FIXTURES / "cnn_state_dict.pt")
    assert list(sd) == [
        "conv.weight", "conv.bias", "bn.weight", "bn.bias", "bn.running_mean",
        "bn.running_var", "bn.num_batches_tracked", "fc.weight", "fc.bias",
    ]  # fmt: skip
    assert sd._metadata[""] == {"version": 1}
    assert sd._metadata["bn"] == {"version": 2}
    params = rtorch.load(FIXTURES / "parameter.pt")
    assert isinstance(params["p"], rtorch.nn.Parameter) and params["p"].requires_grad
    assert not params["frozen"].requires_grad


def test_legacy_format_is_a_clear_error():
    with pytest.raises(RuntimeError, match="legacy"):
        rtorch.load(FIXTURES / "legacy_format.pt")


# ------------------------------------------------------------------------------------
# Round trips inside rtorch
# ------------------------------------------------------------------------------------


def sample_objects():
    base = rtorch.arange(24, dtype=rtorch.float32).reshape(4, 6)
    return {
        "base": base,
        "t": base.t(),
        "block": base[1:3, 2:5],
        "f64": rtorch.arange(5, dtype=rtorch.float64) / 3,
        "f16": rtorch.arange(5, dtype=rtorch.float16) / 4,
        "bf16": rtorch.arange(5, dtype=rtorch.bfloat16) / 2,
        "i64": rtorch.arange(5, dtype=rtorch.int64) * (2**40),
        "i32": rtorch.arange(5, dtype=rtorch.int32) - 2,
        "i16": rtorch.arange(5, dtype=rtorch.int16) * 300,
        "i8": rtorch.arange(5, dtype=rtorch.int8) - 3,
        "u8": rtorch.arange(5, dtype=rtorch.uint8) * 50,
        "bool": rtorch.arange(5) > 2,
        "scalar": rtorch.tensor(3.25),
        "empty": rtorch.zeros(0, 4),
        "grad": rtorch.ones(3, requires_grad=True),
        "nested": [1, "x", (2.5, None, b"\x00\x01"), {"k": rtorch.tensor([7])}],
        "dtype": rtorch.bfloat16,
        "size": rtorch.Size([3, 4]),
        "device": rtorch.device("cpu"),
        "od": OrderedDict(b=1, a=2),
        "big": 2**80,
    }


def assert_same(a, b):
    if isinstance(a, rtorch.Tensor):
        assert isinstance(b, rtorch.Tensor)
        assert a.dtype == b.dtype and a.shape == b.shape and a.stride() == b.stride()
        assert a.storage_offset() == b.storage_offset()
        assert a.requires_grad == b.requires_grad
        assert tensor_values(a) == tensor_values(b)
    elif isinstance(a, dict):
        assert type(a) is type(b) and list(a) == list(b)
        for k in a:
            assert_same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    else:
        assert a == b and type(a) is type(b)


@pytest.mark.parametrize("target", ["path", "bytesio", "mmap"])
def test_round_trip(tmp_path, target):
    obj = sample_objects()
    if target == "bytesio":
        buf = io.BytesIO()
        rtorch.save(obj, buf)
        buf.seek(0)
        back = rtorch.load(buf)
    else:
        path = tmp_path / "ckpt.pt"
        rtorch.save(obj, path)
        back = rtorch.load(str(path), mmap=target == "mmap")
    assert_same(obj, back)
    # the three views of `base` share one storage again
    assert back["t"]._storage_id() == back["base"]._storage_id() == back["block"]._storage_id()
    back["base"][1, 2] = -5.0
    assert back["t"][2, 1].item() == -5.0 and back["block"][0, 0].item() == -5.0


def test_views_saved_once(tmp_path):
    base = rtorch.zeros(1000)
    path = tmp_path / "v.pt"
    rtorch.save([base[:10], base[500:], base], path)
    with zipfile.ZipFile(path) as z:
        records = [n for n in z.namelist() if "/data/" in n]
        assert records == ["v/data/0"]
        assert z.getinfo("v/data/0").file_size == 4000


def test_layout_matches_pytorch(tmp_path):
    path = tmp_path / "model.ckpt.pt"
    rtorch.save({"a": rtorch.ones(3), "b": rtorch.zeros(2, dtype=rtorch.int64)}, path)
    raw = path.read_bytes()
    with zipfile.ZipFile(path) as z:
        assert z.testzip() is None  # every CRC is right
        names = z.namelist()
        assert names == [
            "model.ckpt/data.pkl", "model.ckpt/.format_version",
            "model.ckpt/.storage_alignment", "model.ckpt/byteorder", "model.ckpt/data/0",
            "model.ckpt/data/1", "model.ckpt/version", "model.ckpt/.data/serialization_id",
        ]  # fmt: skip
        assert z.read("model.ckpt/version") == b"3\n"
        assert z.read("model.ckpt/byteorder") == b"little"
        assert z.read("model.ckpt/.storage_alignment") == b"64"
        for info in z.infolist():
            name_len, extra_len = struct.unpack_from("<HH", raw, info.header_offset + 26)
            data_at = info.header_offset + 30 + name_len + extra_len
            assert data_at % 64 == 0, info.filename
        pkl = z.read("model.ckpt/data.pkl")
    assert b"ctorch._utils\n_rebuild_tensor_v2\n" in pkl
    assert b"ctorch\nFloatStorage\n" in pkl and b"ctorch\nLongStorage\n" in pkl
    assert b"rtorch" not in pkl
    buf = io.BytesIO()
    rtorch.save(rtorch.ones(1), buf)
    assert zipfile.ZipFile(buf).namelist()[0] == "archive/data.pkl"


def test_zip64_records(tmp_path, monkeypatch):
    # Force the zip64 path (normally for records over 4 GiB) on a small file.
    monkeypatch.setattr(_checkpoint_zip, "ZIP64_LIMIT", 16)
    obj = {"w": rtorch.arange(100, dtype=rtorch.float32), "s": rtorch.tensor([1, 2])}
    path = tmp_path / "z.pt"
    rtorch.save(obj, path)
    with zipfile.ZipFile(path) as z:
        assert z.testzip() is None
        assert z.getinfo("z/data/0").file_size == 400
    assert_same(obj, rtorch.load(path))


def test_big_endian_records_are_swapped(tmp_path):
    values = rtorch.tensor([1.5, -2.0, 3.25])
    buf = io.BytesIO()
    rtorch.save(values, buf)
    z = zipfile.ZipFile(buf)
    out = io.BytesIO()
    writer = _checkpoint_zip.ZipWriter(out)
    for name in z.namelist():
        data = z.read(name)
        if name.endswith("byteorder"):
            data = b"big"
        elif "/data/" in name:
            data = b"".join(data[i : i + 4][::-1] for i in range(0, len(data), 4))
        writer.write_record(name, data)
    writer.close()
    out.seek(0)
    assert rtorch.load(out).tolist() == [1.5, -2.0, 3.25]


def test_map_location_variants(tmp_path):
    path = tmp_path / "m.pt"
    rtorch.save({"x": rtorch.arange(4.0)}, path)
    for loc in ["cpu", rtorch.device("cpu"), {"cpu": "cpu"}, lambda storage, loc: storage]:
        assert rtorch.load(path, map_location=loc)["x"].tolist() == [0.0, 1.0, 2.0, 3.0]
    seen = []
    rtorch.load(path, map_location=lambda storage, loc: seen.append(loc))
    assert seen == ["cpu"]


def test_cuda_location_without_cuda_is_a_clear_error(tmp_path):
    if rtorch.cuda.is_available():
        pytest.skip("CUDA is available here")
    path = tmp_path / "c.pt"
    rtorch.save(rtorch.ones(2), path)
    with pytest.raises(RuntimeError, match="CUDA"):
        rtorch.load(path, map_location={"cpu": "cuda:0"})


def test_mmap_loads_without_reading(tmp_path):
    path = tmp_path / "big.pt"
    rtorch.save({"w": rtorch.ones(1 << 20)}, path)
    loaded = rtorch.load(path, mmap=True)
    assert loaded["w"].sum().item() == float(1 << 20)
    loaded["w"][0] = 5.0  # private mapping: the file is not modified
    assert rtorch.load(path)["w"][0].item() == 1.0
    with pytest.raises(ValueError, match="mmap"):
        rtorch.load(io.BytesIO(path.read_bytes()), mmap=True)


def test_parameters_and_optimizer_state_round_trip(tmp_path):
    param = rtorch.nn.Parameter(rtorch.arange(6.0).reshape(2, 3))
    state = {
        "state": {0: {"step": rtorch.tensor(3.0), "exp_avg": rtorch.ones(2, 3) / 3}},
        "param_groups": [{"lr": 0.01, "betas": (0.9, 0.999), "params": [0], "foreach": None}],
    }
    path = tmp_path / "p.pt"
    rtorch.save({"param": param, "opt": state}, path)
    back = rtorch.load(path)
    assert isinstance(back["param"], rtorch.nn.Parameter) and back["param"].requires_grad
    assert back["param"].tolist() == param.tolist()
    assert back["opt"]["param_groups"] == state["param_groups"]
    assert_same(state["state"], back["opt"]["state"])


def test_save_rejects_old_format_and_bad_target():
    with pytest.raises(NotImplementedError, match="zip"):
        rtorch.save(rtorch.ones(1), io.BytesIO(), _use_new_zipfile_serialization=False)
    with pytest.raises(AttributeError):
        rtorch.save(rtorch.ones(1), 42)
    with pytest.raises(RuntimeError, match="Parent directory .* does not exist"):
        rtorch.save(rtorch.ones(1), "/nonexistent-dir-for-rtorch/x.pt")
    with pytest.raises(FileNotFoundError):
        rtorch.load("/nonexistent-dir-for-rtorch/x.pt")


# ------------------------------------------------------------------------------------
# weights_only: refused pickles
# ------------------------------------------------------------------------------------


class RunsSystem:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class RunsEval:
    def __reduce__(self):
        return (eval, ("__import__('os').getpid()",))


class Point:
    def __init__(self, x, y):
        self.x = x
        self.y = y


def saved(obj) -> io.BytesIO:
    buf = io.BytesIO()
    rtorch.save(obj, buf)
    buf.seek(0)
    return buf


def test_refuses_os_system_before_running_it(tmp_path):
    marker = tmp_path / "pwned"
    buf = saved({"w": rtorch.ones(2), "x": [RunsSystem(marker)]})
    with pytest.raises(pickle.UnpicklingError, match=r"GLOBAL (posix|os|nt)\.system"):
        rtorch.load(buf)
    assert not marker.exists()
    buf.seek(0)
    rtorch.load(buf, weights_only=False)  # the trusted path does run it
    assert marker.exists()


def test_refuses_eval_and_unknown_classes():
    with pytest.raises(pickle.UnpicklingError, match=r"(__builtin__|builtins)\.eval"):
        rtorch.load(saved({"a": RunsEval()}))
    with pytest.raises(pickle.UnpicklingError, match="Point"):
        rtorch.load(saved([Point(1, 2)]))


def test_refuses_protocol_4_stack_global(tmp_path):
    marker = tmp_path / "pwned4"
    buf = io.BytesIO()
    rtorch.save({"x": RunsSystem(marker)}, buf, pickle_protocol=4)
    buf.seek(0)
    with pytest.raises(pickle.UnpicklingError, match="system"):
        rtorch.load(buf)
    assert not marker.exists()


def test_safe_globals():
    buf = saved({"pt": Point(1, 2)})
    assert serialization.get_safe_globals() == []
    with serialization.safe_globals([Point]):
        assert serialization.get_safe_globals() == [Point]
        buf.seek(0)
        pt = rtorch.load(buf)["pt"]
        assert (type(pt), pt.x, pt.y) == (Point, 1, 2)
    assert serialization.get_safe_globals() == []
    buf.seek(0)
    with pytest.raises(pickle.UnpicklingError, match="add_safe_globals"):
        rtorch.load(buf)
    serialization.add_safe_globals([Point])
    try:
        buf.seek(0)
        assert rtorch.load(buf)["pt"].y == 2
    finally:
        serialization.clear_safe_globals()
    assert serialization.get_safe_globals() == []


def test_weights_only_false_loads_arbitrary_objects():
    back = rtorch.load(saved({"pt": Point(3, 4)}), weights_only=False)
    assert back["pt"].x == 3


def test_explicit_pickle_module_needs_weights_only_false():
    with pytest.raises(RuntimeError, match="pickle_module"):
        rtorch.load(saved(1), pickle_module=pickle)
    assert rtorch.load(saved([1, 2]), pickle_module=pickle, weights_only=False) == [1, 2]


@pytest.mark.parametrize(
    "data",
    [b"", b"not a checkpoint", b"PK\x03\x04" + b"\x00" * 40, b"\x80\x02}q\x00."],
    ids=["empty", "text", "zip-header-only", "bare-pickle"],
)
def test_wrong_format_is_a_clear_error(data):
    with pytest.raises(RuntimeError):
        rtorch.load(io.BytesIO(data))


def test_truncated_checkpoint_is_a_clear_error():
    full = saved({"w": rtorch.arange(100.0), "b": [1, 2]}).getvalue()
    for cut in range(0, len(full), 37):
        with pytest.raises((RuntimeError, pickle.UnpicklingError)):
            rtorch.load(io.BytesIO(full[:cut]))


def test_out_of_bounds_view_is_refused():
    """A pickle claiming a view larger than its storage must not read past it."""
    buf = saved(rtorch.arange(4.0))
    z = zipfile.ZipFile(buf)
    pkl = z.read("archive/data.pkl")
    evil = pkl.replace(b"K\x04\x85", b"K\x40\x85", 1)  # size (4,) -> (64,)
    assert evil != pkl
    out = io.BytesIO()
    writer = _checkpoint_zip.ZipWriter(out)
    for name in z.namelist():
        writer.write_record(name, evil if name.endswith("data.pkl") else z.read(name))
    writer.close()
    out.seek(0)
    with pytest.raises(RuntimeError, match="out of bounds"):
        rtorch.load(out)


# ------------------------------------------------------------------------------------
# pickle / deepcopy of tensors
# ------------------------------------------------------------------------------------


def test_pickle_and_deepcopy_keep_shared_storage():
    base = rtorch.arange(6.0).reshape(2, 3)
    for copied in (
        pickle.loads(pickle.dumps([base, base[:, 1:]])),
        copy.deepcopy([base, base[:, 1:]]),
    ):
        assert copied[0].tolist() == base.tolist()
        assert copied[1].stride() == (3, 1) and copied[1].storage_offset() == 1
        copied[0][0, 1] = 50.0
        assert copied[1][0, 0].item() == 50.0
    assert base[0, 1].item() == 1.0  # the original is untouched
    param = rtorch.nn.Parameter(rtorch.ones(2))
    again = pickle.loads(pickle.dumps(param))
    assert isinstance(again, rtorch.nn.Parameter) and again.requires_grad


# ------------------------------------------------------------------------------------
# Live PyTorch in a subprocess: both directions (one interpreter start for all checks)
# ------------------------------------------------------------------------------------

TORCH_SCRIPT = """
import json, sys, torch
sys.path.insert(0, sys.argv[1])
from make_serialization_fixtures import describe, views, dtype_tensors
out = {}
obj = torch.load(sys.argv[2], weights_only=True)
out["shares"] = obj["t"].untyped_storage().data_ptr() == obj["base"].untyped_storage().data_ptr()
out["from_rtorch"] = describe(obj)
out["zip64_sum"] = torch.load(sys.argv[3])["w"].sum().item()
torch.manual_seed(0)
live = {"views": views(), "dtypes": dtype_tensors(), "w": torch.randn(3, 5)[:, ::2]}
torch.save(live, sys.argv[4])
out["from_torch"] = describe(live)
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def torch_run(tmp_path_factory):
    if not os.path.exists(TORCH_PYTHON):
        pytest.skip("no PyTorch interpreter for the cross-library check")
    tmp = tmp_path_factory.mktemp("torch_parity")
    obj = sample_objects()
    rtorch.save(obj, tmp / "from_rtorch.pt")
    old_limit = _checkpoint_zip.ZIP64_LIMIT
    _checkpoint_zip.ZIP64_LIMIT = 16  # force zip64 records on a small file
    try:
        rtorch.save({"w": rtorch.arange(50.0)}, tmp / "z64.pt")
    finally:
        _checkpoint_zip.ZIP64_LIMIT = old_limit
    args = [str(FIXTURES.parent), str(tmp / "from_rtorch.pt"), str(tmp / "z64.pt")]
    args.append(str(tmp / "from_torch.pt"))
    done = subprocess.run(
        [TORCH_PYTHON, "-c", TORCH_SCRIPT, *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if "No module named 'torch'" in done.stderr:
        pytest.skip("PyTorch is not importable in the cross-library interpreter")
    assert done.returncode == 0, done.stderr
    return tmp, json.loads(done.stdout)


def test_pytorch_loads_rtorch_file(torch_run):
    tmp, out = torch_run
    assert out["shares"]  # torch sees the views sharing one storage
    # What torch read is what rtorch wrote (and reads back).
    assert_matches(rtorch.load(tmp / "from_rtorch.pt"), out["from_rtorch"], "torch view")
    assert_matches(sample_objects()["bf16"], out["from_rtorch"]["__dict__"][5][1], "bf16")


def test_pytorch_loads_forced_zip64_file(torch_run):
    assert torch_run[1]["zip64_sum"] == sum(range(50))


def test_rtorch_loads_live_pytorch_file(torch_run):
    tmp, out = torch_run
    assert_matches(rtorch.load(tmp / "from_torch.pt"), out["from_torch"], "from torch")


# ------------------------------------------------------------------------------------
# Modules, mmap without copies
# ------------------------------------------------------------------------------------


def test_pytorch_linear_state_dict_loads_strictly():
    sd = rtorch.load(FIXTURES / "linear_state_dict.pt")
    layer = rtorch.nn.Linear(4, 2)
    layer.load_state_dict(sd, strict=True)
    assert layer.weight.tolist() == sd["weight"].tolist()


def test_whole_module_needs_weights_only_false():
    model = rtorch.nn.Sequential(rtorch.nn.Linear(3, 2), rtorch.nn.ReLU())
    buf = saved(model)
    assert b"ctorch.nn\nLinear\n" in zipfile.ZipFile(buf).read("archive/data.pkl")
    buf.seek(0)
    with pytest.raises(pickle.UnpicklingError, match="Sequential"):
        rtorch.load(buf)
    buf.seek(0)
    back = rtorch.load(buf, weights_only=False)
    assert type(back[0]) is rtorch.nn.Linear and isinstance(back[0].weight, rtorch.nn.Parameter)
    x = rtorch.arange(6.0).reshape(2, 3)
    assert back(x).tolist() == model(x).tolist()


@pytest.mark.skipif(not os.path.exists("/proc/self/maps"), reason="needs /proc/self/maps")
def test_mmap_tensors_live_in_the_mapped_file(tmp_path):
    path = tmp_path / "mapped.pt"
    rtorch.save({"w": rtorch.ones(1 << 16)}, path)
    loaded = rtorch.load(path, mmap=True)
    ptr = loaded["w"].data_ptr()
    regions = []
    with open("/proc/self/maps") as maps:
        for line in maps:
            lo, hi = (int(x, 16) for x in line.split()[0].split("-"))
            if lo <= ptr < hi:
                regions.append(line)
    assert regions and regions[0].rstrip().endswith(str(path))


def test_get_unsafe_globals_in_checkpoint(tmp_path):
    assert serialization.get_unsafe_globals_in_checkpoint(FIXTURES / "cnn_state_dict.pt") == []
    buf = saved({"w": rtorch.ones(1), "p": Point(1, 2), "m": rtorch.nn.ReLU()})
    found = serialization.get_unsafe_globals_in_checkpoint(buf)
    assert any(name.endswith("Point") for name in found)
    assert "torch.nn.ReLU" in found
    buf = io.BytesIO()
    rtorch.save({"p": Point(1, 2)}, buf, pickle_protocol=4)  # STACK_GLOBAL operands
    buf.seek(0)
    assert any(n.endswith(".Point") for n in serialization.get_unsafe_globals_in_checkpoint(buf))


@pytest.mark.parametrize("name", PT_FIXTURES)
def test_load_pytorch_fixture_weights_only_false(name):
    assert_matches(rtorch.load(FIXTURES / name, weights_only=False), EXPECTED[name], name)


def test_parameter_attributes_survive(tmp_path):
    param = rtorch.nn.Parameter(rtorch.ones(2))
    param.tag = "encoder"
    back = rtorch.load(saved({"p": param}))["p"]
    assert isinstance(back, rtorch.nn.Parameter) and back.tag == "encoder"
    assert pickle.loads(pickle.dumps(param)).tag == "encoder"


def test_untyped_storage_round_trip():
    t = rtorch.arange(4, dtype=rtorch.int32)
    back = rtorch.load(saved({"s": t.untyped_storage(), "n": 3}))
    assert isinstance(back["s"], rtorch.UntypedStorage) and back["s"].nbytes() == 16
    assert bytes(memoryview(back["s"])) == struct.pack("<4i", 0, 1, 2, 3)
    b = rtorch.arange(4, dtype=rtorch.uint8)
    back = rtorch.load(saved([b.untyped_storage(), b[1:]]))
    assert back[0]._storage_id() == back[1]._storage_id()  # one record, shared again
    with pytest.raises(RuntimeError, match="different types"):
        rtorch.save([t.untyped_storage(), t], io.BytesIO())


def test_deepcopy_like_pytorch():
    a = rtorch.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="graph leaves"):
        copy.deepcopy(a * 2)
    a.grad = rtorch.full((2,), 3.0)
    c = copy.deepcopy(a)
    assert c.requires_grad and c.is_leaf and c.grad.tolist() == [3.0, 3.0]
    c.grad[0] = 5.0
    assert a.grad[0].item() == 3.0  # the gradient was copied, not shared
    x = rtorch.arange(4.0)
    pair = copy.deepcopy([x, x[1:], rtorch.zeros(0)])
    pair[0][1] = 9.0
    assert pair[1].tolist() == [9.0, 2.0, 3.0] and x[1].item() == 1.0


def test_mmap_shared_writes_reach_the_file(tmp_path):
    import mmap

    path = tmp_path / "shared.pt"
    rtorch.save({"w": rtorch.zeros(4)}, path)
    assert serialization.get_default_mmap_options() == mmap.MAP_PRIVATE
    with serialization.set_default_mmap_options(mmap.MAP_SHARED):
        loaded = rtorch.load(path, mmap=True)
        loaded["w"][2] = 7.0
        del loaded
    assert serialization.get_default_mmap_options() == mmap.MAP_PRIVATE
    assert rtorch.load(path)["w"].tolist() == [0.0, 0.0, 7.0, 0.0]
    with pytest.raises(ValueError, match="MAP_PRIVATE or mmap.MAP_SHARED"):
        serialization.set_default_mmap_options(12345)


def test_classes_are_not_callable_by_reduce():
    """`torch.Tensor(10**12)` in a pickle would allocate terabytes: refused, not run."""
    evil = b"\x80\x02ctorch\nTensor\nq\x00\x8a\x06\x00\x10\xa5\xd4\xe8\x00\x85R."  # Tensor(10**12)
    with pytest.raises(pickle.UnpicklingError, match="unrecognized function"):
        rtorch.load(io.BytesIO(rezip_pickle(evil)))
    via_type = (  # _rebuild_from_type_v2(Tensor, Tensor, (10**12,), None)
        b"\x80\x02ctorch._tensor\n_rebuild_from_type_v2\n(ctorch\nTensor\nq\x01h\x01"
        b"\x8a\x06\x00\x10\xa5\xd4\xe8\x00\x85NtR."
    )
    with pytest.raises(RuntimeError, match="cannot rebuild"):
        rtorch.load(io.BytesIO(rezip_pickle(via_type)))


def rezip_pickle(pkl: bytes) -> bytes:
    out = io.BytesIO()
    writer = _checkpoint_zip.ZipWriter(out)
    writer.write_record("archive/data.pkl", pkl)
    writer.write_record("archive/version", b"3\n")
    writer.close()
    return out.getvalue()


@pytest.mark.parametrize("protocol", [2, 3, 4])
def test_renaming_globals_leaves_data_alone(protocol):
    """Only GLOBAL opcodes are renamed to torch.*; look-alike bytes inside data are kept."""
    text = "\ncrtorch._utils\n_rebuild_tensor_v2\n"
    obj = {"s": text, "b": text.encode(), "t": rtorch.ones(2), "d": rtorch.float64}
    buf = io.BytesIO()
    rtorch.save(obj, buf, pickle_protocol=protocol)
    buf.seek(0)
    pkl = zipfile.ZipFile(buf).read("archive/data.pkl")
    assert b"_rebuild_tensor_v2" in pkl and pkl.count(b"rtorch._utils") == 2
    buf.seek(0)
    back = rtorch.load(buf)
    assert back["s"] == text and back["b"] == text.encode() and back["d"] == rtorch.float64


def test_unsupported_pytorch_dtype_is_named():
    # A complex64 tensor as torch.save writes it (hand-built: rtorch has no complex dtype).
    pkl = (
        b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storage"
        b"ctorch\nComplexFloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x01tQK\x00"
        b"K\x01\x85K\x01\x85\x89ccollections\nOrderedDict\n)RtR."
    )
    with pytest.raises(pickle.UnpicklingError, match="ComplexFloatStorage, a dtype rtorch"):
        rtorch.load(io.BytesIO(rezip_pickle(pkl)))
