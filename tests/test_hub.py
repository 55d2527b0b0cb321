"""rtorch.hub / rtorch.utils.model_zoo: cache lookup, downloads (file:// URLs), offline errors."""

from __future__ import annotations

import hashlib

import pytest

import rtorch
from rtorch import hub
from rtorch.utils import model_zoo


@pytest.fixture
def homes(tmp_path, monkeypatch):
    monkeypatch.setattr(hub, "_hub_dir", None)
    monkeypatch.setenv("RTORCH_HOME", str(tmp_path / "rtorch_home"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    return tmp_path


def test_get_dir_and_set_dir(homes, monkeypatch):
    assert hub.get_dir() == str(homes / "rtorch_home" / "hub")
    monkeypatch.delenv("RTORCH_HOME")
    assert hub.get_dir() == str(homes / "torch_home" / "hub")
    hub.set_dir(homes / "elsewhere")
    assert hub.get_dir() == str(homes / "elsewhere")


def test_finds_weights_in_pytorch_cache(homes):
    cached = homes / "torch_home" / "hub" / "checkpoints" / "net-0000.pth"
    cached.parent.mkdir(parents=True)
    rtorch.save({"w": rtorch.arange(3.0)}, cached)
    url = "https://example.invalid/models/net-0000.pth"  # never contacted: the cache hits
    assert hub.load_state_dict_from_url(url)["w"].tolist() == [0.0, 1.0, 2.0]
    assert model_zoo.load_url(url, weights_only=True)["w"].tolist() == [0.0, 1.0, 2.0]


def test_downloads_file_url_with_hash_check(homes):
    src = homes / "src.pth"
    rtorch.save({"b": rtorch.ones(2)}, src)
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    named = homes / f"model-{digest[:8]}.pth"
    src.rename(named)
    out = hub.load_state_dict_from_url(named.as_uri(), check_hash=True, progress=False)
    assert out["b"].tolist() == [1.0, 1.0]
    assert (homes / "rtorch_home" / "hub" / "checkpoints" / named.name).exists()


def test_bad_hash_is_refused_and_leaves_no_file(homes):
    src = homes / "model-deadbeef.pth"
    rtorch.save({"b": rtorch.ones(2)}, src)
    with pytest.raises(RuntimeError, match="invalid hash value"):
        hub.load_state_dict_from_url(src.as_uri(), check_hash=True, progress=False)
    assert list((homes / "rtorch_home" / "hub" / "checkpoints").iterdir()) == []


def test_offline_error_names_the_file_and_the_directory(homes):
    url = "http://127.0.0.1:9/weights/resnet-abc.pth"  # the discard port: refused at once
    with pytest.raises(RuntimeError) as info:
        hub.load_state_dict_from_url(url, progress=False)
    message = str(info.value)
    assert "resnet-abc.pth" in message
    assert str(homes / "rtorch_home" / "hub" / "checkpoints") in message


def test_local_hubconf_entry_points(tmp_path):
    (tmp_path / "hubconf.py").write_text(
        "import rtorch\n\n"
        "def tiny(n=2):\n    '''A tiny model.'''\n    return rtorch.nn.Linear(n, 1)\n"
    )
    assert "tiny" in hub.list(str(tmp_path), source="local")
    assert hub.help(str(tmp_path), "tiny", source="local") == "A tiny model."
    model = hub.load(str(tmp_path), "tiny", 3, source="local", trust_repo=True)
    assert model.weight.shape == (1, 3)
    with pytest.raises(RuntimeError, match="Cannot find callable"):
        hub.load(str(tmp_path), "missing", source="local")
    with pytest.raises(RuntimeError, match="clone"):
        hub.load("pytorch/vision", "resnet18")
