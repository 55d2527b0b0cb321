"""rtorch.vision.models: torchvision's state_dict keys and shapes, init, forward shapes,
weight loading (local files, hub names offline, pretrained=), and output parity with
torchvision where a PyTorch interpreter is available."""

import hashlib
import os
import subprocess
import warnings

import numpy as np
import pytest

import rtorch
from rtorch import nn
from rtorch.vision import models
from rtorch.vision.models import mobilenetv2, vgg

# Generated once with the real torchvision 0.29 (/work/torchvenv/bin/python):
#   sd = torchvision.models.resnet18().state_dict()
#   [(k, tuple(v.shape)) for k, v in sd.items()]
RESNET18_STATE_DICT = [
    ("conv1.weight", (64, 3, 7, 7)),
    ("bn1.weight", (64,)),
    ("bn1.bias", (64,)),
    ("bn1.running_mean", (64,)),
    ("bn1.running_var", (64,)),
    ("bn1.num_batches_tracked", ()),
    ("layer1.0.conv1.weight", (64, 64, 3, 3)),
    ("layer1.0.bn1.weight", (64,)),
    ("layer1.0.bn1.bias", (64,)),
    ("layer1.0.bn1.running_mean", (64,)),
    ("layer1.0.bn1.running_var", (64,)),
    ("layer1.0.bn1.num_batches_tracked", ()),
    ("layer1.0.conv2.weight", (64, 64, 3, 3)),
    ("layer1.0.bn2.weight", (64,)),
    ("layer1.0.bn2.bias", (64,)),
    ("layer1.0.bn2.running_mean", (64,)),
    ("layer1.0.bn2.running_var", (64,)),
    ("layer1.0.bn2.num_batches_tracked", ()),
    ("layer1.1.conv1.weight", (64, 64, 3, 3)),
    ("layer1.1.bn1.weight", (64,)),
    ("layer1.1.bn1.bias", (64,)),
    ("layer1.1.bn1.running_mean", (64,)),
    ("layer1.1.bn1.running_var", (64,)),
    ("layer1.1.bn1.num_batches_tracked", ()),
    ("layer1.1.conv2.weight", (64, 64, 3, 3)),
    ("layer1.1.bn2.weight", (64,)),
    ("layer1.1.bn2.bias", (64,)),
    ("layer1.1.bn2.running_mean", (64,)),
    ("layer1.1.bn2.running_var", (64,)),
    ("layer1.1.bn2.num_batches_tracked", ()),
    ("layer2.0.conv1.weight", (128, 64, 3, 3)),
    ("layer2.0.bn1.weight", (128,)),
    ("layer2.0.bn1.bias", (128,)),
    ("layer2.0.bn1.running_mean", (128,)),
    ("layer2.0.bn1.running_var", (128,)),
    ("layer2.0.bn1.num_batches_tracked", ()),
    ("layer2.0.conv2.weight", (128, 128, 3, 3)),
    ("layer2.0.bn2.weight", (128,)),
    ("layer2.0.bn2.bias", (128,)),
    ("layer2.0.bn2.running_mean", (128,)),
    ("layer2.0.bn2.running_var", (128,)),
    ("layer2.0.bn2.num_batches_tracked", ()),
    ("layer2.0.downsample.0.weight", (128, 64, 1, 1)),
    ("layer2.0.downsample.1.weight", (128,)),
    ("layer2.0.downsample.1.bias", (128,)),
    ("layer2.0.downsample.1.running_mean", (128,)),
    ("layer2.0.downsample.1.running_var", (128,)),
    ("layer2.0.downsample.1.num_batches_tracked", ()),
    ("layer2.1.conv1.weight", (128, 128, 3, 3)),
    ("layer2.1.bn1.weight", (128,)),
    ("layer2.1.bn1.bias", (128,)),
    ("layer2.1.bn1.running_mean", (128,)),
    ("layer2.1.bn1.running_var", (128,)),
    ("layer2.1.bn1.num_batches_tracked", ()),
    ("layer2.1.conv2.weight", (128, 128, 3, 3)),
    ("layer2.1.bn2.weight", (128,)),
    ("layer2.1.bn2.bias", (128,)),
    ("layer2.1.bn2.running_mean", (128,)),
    ("layer2.1.bn2.running_var", (128,)),
    ("layer2.1.bn2.num_batches_tracked", ()),
    ("layer3.0.conv1.weight", (256, 128, 3, 3)),
    ("layer3.0.bn1.weight", (256,)),
    ("layer3.0.bn1.bias", (256,)),
    ("layer3.0.bn1.running_mean", (256,)),
    ("layer3.0.bn1.running_var", (256,)),
    ("layer3.0.bn1.num_batches_tracked", ()),
    ("layer3.0.conv2.weight", (256, 256, 3, 3)),
    ("layer3.0.bn2.weight", (256,)),
    ("layer3.0.bn2.bias", (256,)),
    ("layer3.0.bn2.running_mean", (256,)),
    ("layer3.0.bn2.running_var", (256,)),
    ("layer3.0.bn2.num_batches_tracked", ()),
    ("layer3.0.downsample.0.weight", (256, 128, 1, 1)),
    ("layer3.0.downsample.1.weight", (256,)),
    ("layer3.0.downsample.1.bias", (256,)),
    ("layer3.0.downsample.1.running_mean", (256,)),
    ("layer3.0.downsample.1.running_var", (256,)),
    ("layer3.0.downsample.1.num_batches_tracked", ()),
    ("layer3.1.conv1.weight", (256, 256, 3, 3)),
    ("layer3.1.bn1.weight", (256,)),
    ("layer3.1.bn1.bias", (256,)),
    ("layer3.1.bn1.running_mean", (256,)),
    ("layer3.1.bn1.running_var", (256,)),
    ("layer3.1.bn1.num_batches_tracked", ()),
    ("layer3.1.conv2.weight", (256, 256, 3, 3)),
    ("layer3.1.bn2.weight", (256,)),
    ("layer3.1.bn2.bias", (256,)),
    ("layer3.1.bn2.running_mean", (256,)),
    ("layer3.1.bn2.running_var", (256,)),
    ("layer3.1.bn2.num_batches_tracked", ()),
    ("layer4.0.conv1.weight", (512, 256, 3, 3)),
    ("layer4.0.bn1.weight", (512,)),
    ("layer4.0.bn1.bias", (512,)),
    ("layer4.0.bn1.running_mean", (512,)),
    ("layer4.0.bn1.running_var", (512,)),
    ("layer4.0.bn1.num_batches_tracked", ()),
    ("layer4.0.conv2.weight", (512, 512, 3, 3)),
    ("layer4.0.bn2.weight", (512,)),
    ("layer4.0.bn2.bias", (512,)),
    ("layer4.0.bn2.running_mean", (512,)),
    ("layer4.0.bn2.running_var", (512,)),
    ("layer4.0.bn2.num_batches_tracked", ()),
    ("layer4.0.downsample.0.weight", (512, 256, 1, 1)),
    ("layer4.0.downsample.1.weight", (512,)),
    ("layer4.0.downsample.1.bias", (512,)),
    ("layer4.0.downsample.1.running_mean", (512,)),
    ("layer4.0.downsample.1.running_var", (512,)),
    ("layer4.0.downsample.1.num_batches_tracked", ()),
    ("layer4.1.conv1.weight", (512, 512, 3, 3)),
    ("layer4.1.bn1.weight", (512,)),
    ("layer4.1.bn1.bias", (512,)),
    ("layer4.1.bn1.running_mean", (512,)),
    ("layer4.1.bn1.running_var", (512,)),
    ("layer4.1.bn1.num_batches_tracked", ()),
    ("layer4.1.conv2.weight", (512, 512, 3, 3)),
    ("layer4.1.bn2.weight", (512,)),
    ("layer4.1.bn2.bias", (512,)),
    ("layer4.1.bn2.running_mean", (512,)),
    ("layer4.1.bn2.running_var", (512,)),
    ("layer4.1.bn2.num_batches_tracked", ()),
    ("fc.weight", (1000, 512)),
    ("fc.bias", (1000,)),
]

# Generated the same way: key count and the SHA-256 of "key:shape" lines joined by "\n",
#   hashlib.sha256("\n".join(f"{k}:{tuple(v.shape)}" for k, v in sd.items()).encode())
# for torchvision.models.<name>().state_dict(). (resnet34: 218 keys, resnet101: 626.)
KEY_SIGNATURES = {
    "resnet50": (320, "781bb16f43b8f96f5f2ada850a89ff3e7a89c845484027404ea1ba359f00987a"),
    "vgg16": (32, "77334610293d95e220516ba292075d33aba6caf73c49ede1ae1dfdc62b620632"),
    "mobilenet_v2": (314, "2a375ead3e9604e121cc358d8c25117ecf15d688b8e6221119d287dfef0fd108"),
    "vgg11_bn": (62, "96ee5d41fde5cc7f7ba2cb32cd56ce0835ad98113c94426944064885f752911d"),
}
KEY_COUNTS = {"resnet34": 218, "resnet101": 626, "vgg11": 22, "vgg16_bn": 97}


def signature(model):
    sd = model.state_dict()
    lines = "\n".join(f"{k}:{tuple(v.shape)}" for k, v in sd.items())
    return len(sd), hashlib.sha256(lines.encode()).hexdigest()


@pytest.fixture
def no_init(monkeypatch):
    """Skip weight initialisation: the big models' keys and shapes are checked in well under
    a second instead of drawing hundreds of millions of random numbers."""
    noop = lambda tensor, *args, **kwargs: tensor
    for name in ("kaiming_normal_", "normal_", "constant_", "ones_", "zeros_"):
        monkeypatch.setattr(nn.init, name, noop)
    monkeypatch.setattr(nn.Linear, "reset_parameters", lambda self: None)
    conv_base = next(c for c in nn.Conv2d.__mro__ if "reset_parameters" in c.__dict__)
    monkeypatch.setattr(conv_base, "reset_parameters", lambda self: None)


@pytest.fixture(scope="module")
def resnet18():
    """One ResNet-18 shared by the tests that only read it (building one takes ~0.5 s)."""
    rtorch.manual_seed(0)
    return models.resnet18()


def test_resnet18_state_dict_matches_torchvision(resnet18):
    sd = resnet18.state_dict()
    assert [(k, tuple(v.shape)) for k, v in sd.items()] == RESNET18_STATE_DICT
    assert sd["bn1.num_batches_tracked"].dtype == rtorch.int64


@pytest.mark.parametrize("name", sorted(KEY_SIGNATURES))
def test_key_lists_match_torchvision(name, no_init):
    assert signature(getattr(models, name)()) == KEY_SIGNATURES[name]


@pytest.mark.parametrize("name", sorted(KEY_COUNTS))
def test_key_counts_match_torchvision(name, no_init):
    assert len(getattr(models, name)().state_dict()) == KEY_COUNTS[name]


def test_torchvision_module_structure(resnet18):
    m = resnet18
    assert isinstance(m.layer2[0].downsample, nn.Sequential)
    assert isinstance(m.layer2[0].downsample[0], nn.Conv2d)
    assert isinstance(m.layer2[0].downsample[1], nn.BatchNorm2d)
    assert m.layer1[0].downsample is None
    assert tuple(m.fc.weight.shape) == (1000, 512)
    mb = models.mobilenet_v2(num_classes=7)
    assert isinstance(mb.features[0], mobilenetv2.Conv2dNormActivation)
    assert isinstance(mb.features[1], mobilenetv2.InvertedResidual)
    assert isinstance(mb.features[18][2], nn.ReLU6)
    assert mb.features[2].use_res_connect is False and mb.features[3].use_res_connect is True
    assert tuple(mb.classifier[1].weight.shape) == (7, 1280)


def test_resnet_init_as_torchvision(resnet18):
    m = resnet18
    w = m.layer4[1].conv2.weight.detach().numpy()
    fan_out = 512 * 3 * 3
    # kaiming_normal_(mode="fan_out", relu): std = sqrt(2 / fan_out); 2.4M samples.
    assert abs(w.std() - np.sqrt(2.0 / fan_out)) < 0.01 * np.sqrt(2.0 / fan_out)
    assert abs(w.mean()) < 1e-4
    for mod in m.modules():
        if isinstance(mod, nn.BatchNorm2d):
            assert bool((mod.weight == 1).all()) and bool((mod.bias == 0).all())


@pytest.mark.parametrize("block", ["BasicBlock", "Bottleneck"])
def test_zero_init_residual(block):
    block = getattr(models, block)
    m = models.ResNet(block, [1, 1, 1, 1], num_classes=2, zero_init_residual=True)
    last, other = ("bn3", "bn2") if block is models.Bottleneck else ("bn2", "bn1")
    for layer in (m.layer1, m.layer4):
        assert bool((getattr(layer[0], last).weight == 0).all())
        assert bool((getattr(layer[0], other).weight == 1).all())
    assert bool((m.bn1.weight == 1).all())


def test_forward_shapes(resnet18):
    resnet18.eval()
    with rtorch.no_grad():
        assert tuple(resnet18(rtorch.randn(1, 3, 32, 32)).shape) == (1, 1000)
    small = models.ResNet(models.BasicBlock, [1, 1, 1, 1], num_classes=10)
    out = small(rtorch.randn(2, 3, 32, 32))  # train mode, with autograd
    assert tuple(out.shape) == (2, 10)
    out.sum().backward()
    assert small.conv1.weight.grad is not None
    lenet = models.lenet5()
    assert tuple(lenet(rtorch.randn(3, 1, 32, 32)).shape) == (3, 10)
    mnist = models.lenet5(padding=2, num_classes=4)
    assert tuple(mnist(rtorch.randn(2, 1, 28, 28)).shape) == (2, 4)
    cifar = models.LeNet5(in_channels=3)
    assert tuple(cifar.conv1.weight.shape) == (6, 3, 5, 5)
    assert [k for k in cifar.state_dict()] == [
        f"{layer}.{p}"
        for layer in ("conv1", "conv2", "fc1", "fc2", "fc3")
        for p in ("weight", "bias")
    ]


def test_mobilenet_v2_forward():
    m = models.mobilenet_v2(num_classes=5)
    m.eval()
    with rtorch.no_grad():
        assert tuple(m(rtorch.randn(1, 3, 32, 32)).shape) == (1, 5)


def test_weights_from_a_local_file(tmp_path):
    src = models.lenet5(num_classes=3, in_channels=3)
    path = tmp_path / "lenet.pt"
    rtorch.save(src.state_dict(), str(path))
    loaded = models.lenet5(weights=str(path), num_classes=3, in_channels=3)
    for (k, a), (_, b) in zip(src.state_dict().items(), loaded.state_dict().items()):
        assert rtorch.equal(a, b), k
    assert rtorch.equal(
        models.lenet5(weights=path, num_classes=3, in_channels=3).fc3.bias, src.fc3.bias
    )
    with pytest.raises(RuntimeError, match="size mismatch for fc3.weight"):
        models.lenet5(weights=str(path), in_channels=3)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        models.resnet18(weights=str(tmp_path / "missing.pth"))


def test_pretrained_weights_offline_fail_with_instructions(tmp_path, monkeypatch):
    monkeypatch.setenv("RTORCH_HOME", str(tmp_path / "rtorch_home"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.setattr(
        models.ResNet18_Weights.IMAGENET1K_V1.value,
        "url",
        "http://127.0.0.1:9/models/resnet18-f37072fd.pth",
    )
    with pytest.raises(RuntimeError, match="resnet18-f37072fd.pth") as info:
        models.resnet18(weights=models.ResNet18_Weights.IMAGENET1K_V1)
    assert os.path.join("hub", "checkpoints") in str(info.value)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(RuntimeError, match="resnet18-f37072fd.pth"):
            models.resnet18(pretrained=True)
    assert any("'pretrained' is deprecated" in str(w.message) for w in caught)


def test_pretrained_weights_found_in_the_torch_cache(tmp_path, monkeypatch, resnet18):
    # A checkpoint torchvision already downloaded sits in $TORCH_HOME/hub/checkpoints.
    monkeypatch.delenv("RTORCH_HOME", raising=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    folder = tmp_path / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    source = resnet18
    rtorch.save(source.state_dict(), str(folder / "resnet18-f37072fd.pth"))
    m = models.resnet18(weights="ResNet18_Weights.IMAGENET1K_V1")
    assert rtorch.equal(m.fc.weight, source.fc.weight)
    assert rtorch.equal(m.layer3[0].bn2.running_var, source.layer3[0].bn2.running_var)


def test_weights_arguments():
    assert models.ResNet50_Weights.DEFAULT is models.ResNet50_Weights.IMAGENET1K_V2
    assert models.ResNet18_Weights.verify("IMAGENET1K_V1") is models.ResNet18_Weights.IMAGENET1K_V1
    assert repr(models.ResNet18_Weights.DEFAULT) == "ResNet18_Weights.IMAGENET1K_V1"
    assert models.ResNet18_Weights.DEFAULT.url.endswith("resnet18-f37072fd.pth")
    assert models.get_weight("MobileNet_V2_Weights.IMAGENET1K_V2").meta["num_params"] == 3504872
    with pytest.raises(TypeError, match="expected ResNet18_Weights but received ResNet50_Weights"):
        models.resnet18(weights=models.ResNet50_Weights.DEFAULT)
    with pytest.raises(
        ValueError, match="The parameter 'num_classes' expected value 1000 but got 10"
    ):
        models.resnet18(weights=models.ResNet18_Weights.DEFAULT, num_classes=10)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        m = models.mobilenet_v2(pretrained=False, num_classes=4)
    assert tuple(m.classifier[1].weight.shape) == (4, 1280)
    assert any("'pretrained' is deprecated" in str(w.message) for w in caught)
    assert "resnet18" in models.list_models() and "lenet5" in models.list_models()
    assert models.get_model_weights("resnet50") is models.ResNet50_Weights
    assert tuple(models.get_model("lenet5", num_classes=3).fc3.bias.shape) == (3,)
    preset = models.ResNet18_Weights.DEFAULT.transforms()
    assert tuple(preset(rtorch.rand(3, 300, 260)).shape) == (3, 224, 224)


def test_vgg_structure(no_init):
    m = models.vgg11_bn(num_classes=10, dropout=0.3)
    assert isinstance(m.features[1], nn.BatchNorm2d) and isinstance(m.features[3], nn.MaxPool2d)
    assert m.classifier[2].p == 0.3 and tuple(m.classifier[6].weight.shape) == (10, 4096)
    assert vgg.cfgs["D"].count("M") == 5


# --- parity with torchvision ---------------------------------------------------------------

TORCH_PYTHON = os.environ.get("RTORCH_TORCH_PYTHON", "/work/torchvenv/bin/python")

PARITY_SCRIPT = """
import sys, numpy as np, torch, torchvision
torch.manual_seed(0)
out = sys.argv[1]
x = torch.from_numpy(np.random.default_rng(0).standard_normal((2, 3, 40, 40)).astype(np.float32))
for name in ("resnet18", "mobilenet_v2"):
    m = getattr(torchvision.models, name)(num_classes=10)
    with torch.no_grad():  # non-trivial BatchNorm statistics and affine parameters
        for mod in m.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.running_mean.uniform_(-0.5, 0.5)
                mod.running_var.uniform_(0.5, 2.0)
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.uniform_(-0.2, 0.2)
    m.eval()
    torch.save(m.state_dict(), f"{out}/{name}.pth")
    with torch.no_grad():
        np.save(f"{out}/{name}.npy", m(x).numpy())
np.save(f"{out}/x.npy", x.numpy())
"""


@pytest.mark.skipif(not os.path.exists(TORCH_PYTHON), reason="no PyTorch interpreter")
def test_torchvision_state_dicts_load_strictly_and_agree(tmp_path):
    done = subprocess.run(
        [TORCH_PYTHON, "-c", PARITY_SCRIPT, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0 and "No module named" in done.stderr:
        pytest.skip("the PyTorch interpreter has no torchvision")
    assert done.returncode == 0, done.stderr
    x = rtorch.from_numpy(np.load(tmp_path / "x.npy"))
    for name in ("resnet18", "mobilenet_v2"):
        model = getattr(models, name)(weights=str(tmp_path / f"{name}.pth"), num_classes=10)
        model.eval()
        with rtorch.no_grad():
            ours = model(x).numpy()
        # Tens of float32 convolutions deep: summation order differs from torch's kernels.
        np.testing.assert_allclose(ours, np.load(tmp_path / f"{name}.npy"), rtol=1e-4, atol=1e-4)
