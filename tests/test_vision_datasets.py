"""rtorch.vision.datasets: readers on small files written here in the official formats,
plus the real MNIST bundled in data/mnist."""

import gzip
import os
import pickle
import struct

import numpy as np
import pytest
from PIL import Image

import rtorch
from rtorch.utils.data import Dataset
from rtorch.vision import datasets, transforms
from rtorch.vision.datasets.utils import read_idx_array

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# --- IDX helpers -------------------------------------------------------------------------


def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    """An IDX file: 0x0000, type code, ndim, big-endian dims, big-endian payload."""
    big = array.astype(array.dtype.newbyteorder(">"))
    header = struct.pack(">HBB", 0, type_code, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + big.tobytes()


def write(path, payload: bytes, gz: bool = False) -> str:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if gz:
        path += ".gz"
        payload = gzip.compress(payload)
    with open(path, "wb") as f:
        f.write(payload)
    return path


def make_mnist(root, name="MNIST", n=5, gz=False, prefix=("train", "t10k"), folder=None):
    """Tiny MNIST-layout files; returns {prefix: (images, labels)}."""
    rng = np.random.default_rng(len(name) + n)
    folder = folder or os.path.join(root, name, "raw")
    made = {}
    for p in prefix:
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n).astype(np.uint8)
        write(os.path.join(folder, f"{p}-images-idx3-ubyte"), idx_bytes(images), gz)
        write(os.path.join(folder, f"{p}-labels-idx1-ubyte"), idx_bytes(labels), gz)
        made[p] = (images, labels)
    return made


# --- MNIST family --------------------------------------------------------------------------


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_reads_torchvision_layout(tmp_path, gz):
    made = make_mnist(str(tmp_path), gz=gz)
    ds = datasets.MNIST(str(tmp_path), train=True)
    images, labels = made["train"]
    assert isinstance(ds, Dataset)
    assert len(ds) == 5
    assert ds.data.dtype == rtorch.uint8 and tuple(ds.data.shape) == (5, 28, 28)
    assert ds.targets.dtype == rtorch.int64
    np.testing.assert_array_equal(ds.data.numpy(), images)
    np.testing.assert_array_equal(ds.targets.numpy(), labels.astype(np.int64))
    img, target = ds[3]
    assert isinstance(img, Image.Image) and img.mode == "L" and img.size == (28, 28)
    np.testing.assert_array_equal(np.asarray(img), images[3])
    assert type(target) is int and target == labels[3]
    test = datasets.MNIST(str(tmp_path), train=False)
    np.testing.assert_array_equal(test.data.numpy(), made["t10k"][0])


def test_mnist_transforms_and_metadata(tmp_path):
    made = make_mnist(str(tmp_path))
    ds = datasets.MNIST(
        str(tmp_path),
        transform=transforms.ToTensor(),
        target_transform=lambda t: t + 100,
    )
    x, t = ds[-1]
    images, labels = made["train"]
    expected = images[-1].astype(np.float32) / np.float32(255)
    np.testing.assert_array_equal(x.numpy(), expected[None])
    assert t == labels[-1] + 100
    assert ds.classes[0] == "0 - zero" and ds.class_to_idx["9 - nine"] == 9
    assert repr(ds).splitlines()[:4] == [
        "Dataset MNIST",
        "    Number of datapoints: 5",
        f"    Root location: {tmp_path}",
        "    Split: Train",
    ]
    assert ds.raw_folder == os.path.join(str(tmp_path), "MNIST", "raw")


def test_mnist_items_follow_reassigned_and_modified_data(tmp_path):
    make_mnist(str(tmp_path))
    ds = datasets.MNIST(str(tmp_path))
    ds[0]
    ds.data = rtorch.zeros(2, 28, 28, dtype=rtorch.uint8)
    ds.targets = rtorch.tensor([7, 3])
    assert len(ds) == 2
    img, t = ds[1]
    assert np.asarray(img).max() == 0 and t == 3
    ds.data[1, 4, 5] = 200  # in place, through the tensor
    ds.targets[1] = 8
    img, t = ds[1]
    assert np.asarray(img)[4, 5] == 200 and t == 8


def test_to_tensor_of_a_modified_dataset_image_sees_the_modification(tmp_path):
    make_mnist(str(tmp_path))
    ds = datasets.MNIST(str(tmp_path))
    img, _ = ds[0]
    before = ds.data[0, 0, 0].item()
    img.putpixel((0, 0), 255 if before != 255 else 0)
    x = transforms.functional.to_tensor(img)
    assert x[0, 0, 0].item() == (1.0 if before != 255 else 0.0)
    assert ds.data[0, 0, 0].item() == before  # the dataset is not written through
    pixels = transforms.functional.pil_to_tensor(ds[1][0])
    pixels[0, 0, 0] = 1 - ds.data[1, 0, 0].item() % 2  # must not alias ds.data
    assert pixels[0, 0, 0].item() != ds.data[1, 0, 0].item()


def test_mnist_pickles_without_caches(tmp_path):
    make_mnist(str(tmp_path))
    ds = datasets.MNIST(str(tmp_path))
    ds[0]
    clone = pickle.loads(pickle.dumps(ds))
    np.testing.assert_array_equal(np.asarray(clone[2][0]), np.asarray(ds[2][0]))


def test_mnist_reads_legacy_processed_files(tmp_path):
    processed = tmp_path / "MNIST" / "processed"
    processed.mkdir(parents=True)
    data = rtorch.arange(2 * 28 * 28).remainder(256).to(rtorch.uint8).view(2, 28, 28)
    rtorch.save((data, rtorch.tensor([3, 4])), str(processed / "training.pt"))
    rtorch.save((data[:1], rtorch.tensor([9])), str(processed / "test.pt"))
    ds = datasets.MNIST(str(tmp_path))
    assert rtorch.equal(ds.data, data) and ds.targets.tolist() == [3, 4]
    assert datasets.MNIST(str(tmp_path), train=False)[0][1] == 9
    with pytest.warns(UserWarning, match="train_labels has been renamed targets"):
        assert ds.train_labels is ds.targets


def test_mnist_finds_flat_lowercase_folder(tmp_path):
    made = make_mnist(str(tmp_path), gz=True, folder=os.path.join(str(tmp_path), "mnist"))
    ds = datasets.MNIST(str(tmp_path), train=False)
    np.testing.assert_array_equal(ds.targets.numpy(), made["t10k"][1])


def test_real_mnist_bundled_in_repository():
    ds = datasets.MNIST(os.path.join(REPO, "data"), train=False)
    assert len(ds) == 10000 and tuple(ds.data.shape) == (10000, 28, 28)
    # The published first test labels.
    assert ds.targets[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    counts = np.bincount(ds.targets.numpy(), minlength=10)
    assert counts.tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    x = tf(ds[0][0])
    ref = (ds.data[0].numpy().astype(np.float32) / np.float32(255) - np.float32(0.1307)) / (
        np.float32(0.3081)
    )
    np.testing.assert_array_equal(x.numpy()[0], ref)


def test_mnist_missing_files_message(tmp_path):
    with pytest.raises(RuntimeError, match="Dataset not found") as info:
        datasets.MNIST(str(tmp_path))
    msg = str(info.value)
    assert "train-images-idx3-ubyte" in msg and os.path.join("MNIST", "raw") in msg


def test_mnist_download_offline_fails_fast_with_instructions(tmp_path, monkeypatch):
    # Port 9 on localhost refuses connections at once: the offline case without a network.
    monkeypatch.setattr(datasets.MNIST, "mirrors", ["http://127.0.0.1:9/"])
    with pytest.raises(RuntimeError, match="Error downloading train-images-idx3-ubyte.gz") as e:
        datasets.MNIST(str(tmp_path), download=True)
    assert "127.0.0.1:9" in str(e.value)
    assert os.path.join(str(tmp_path), "MNIST", "raw") in str(e.value)


def test_mnist_download_checks_md5(tmp_path, monkeypatch):
    # A file:// mirror serves real bytes without a network; the md5s are the official ones,
    # so these generated files must be refused.
    mirror = tmp_path / "mirror"
    make_mnist(str(tmp_path), gz=True, folder=str(mirror))
    monkeypatch.setattr(datasets.MNIST, "mirrors", [mirror.as_uri() + "/"])
    with pytest.raises(RuntimeError, match="md5"):
        datasets.MNIST(str(tmp_path / "root"), download=True)


def test_mnist_download_accepts_matching_md5(tmp_path, monkeypatch):
    import hashlib

    mirror = tmp_path / "mirror"
    make_mnist(str(tmp_path), gz=True, folder=str(mirror))
    resources = [
        (name, hashlib.md5((mirror / name).read_bytes()).hexdigest())
        for name in sorted(os.listdir(mirror))
    ]
    monkeypatch.setattr(datasets.MNIST, "mirrors", [mirror.as_uri() + "/"])
    monkeypatch.setattr(datasets.MNIST, "resources", resources)
    ds = datasets.MNIST(str(tmp_path / "root"), download=True)
    assert len(ds) == 5
    assert sorted(os.listdir(tmp_path / "root" / "MNIST" / "raw")) == sorted(os.listdir(mirror))


def test_idx_errors(tmp_path):
    raw = os.path.join(str(tmp_path), "MNIST", "raw")
    labels = idx_bytes(np.zeros(3, np.uint8))
    write(os.path.join(raw, "train-labels-idx1-ubyte"), labels)
    path = os.path.join(raw, "train-images-idx3-ubyte")
    write(path, b"\x00\x00\x07\x03" + b"\x00" * 20)
    with pytest.raises(RuntimeError, match="bad magic number"):
        datasets.MNIST(str(tmp_path))
    write(path, idx_bytes(np.zeros((3, 28, 28), np.uint8))[:-5])
    with pytest.raises(RuntimeError, match="truncated"):
        datasets.MNIST(str(tmp_path))
    write(path, idx_bytes(np.zeros((3, 2, 2), np.int32), 0x0C))
    with pytest.raises(TypeError, match="should be of dtype torch.uint8"):
        datasets.MNIST(str(tmp_path))
    write(path, idx_bytes(np.zeros((4, 28, 28), np.uint8)))
    with pytest.raises(RuntimeError, match="4 images but .* 3 labels"):
        datasets.MNIST(str(tmp_path))
    write(path, b"\x1f\x8b not really gzip")
    with pytest.raises(RuntimeError, match="not a valid gzip file"):
        datasets.MNIST(str(tmp_path))


def test_idx_multibyte_types_are_big_endian(tmp_path):
    values = np.array([[1, -2, 300], [-40000, 5, 2**30]], dtype=np.int32)
    path = write(os.path.join(str(tmp_path), "x.idx"), idx_bytes(values, 0x0C), gz=True)
    out = read_idx_array(path)
    assert out.dtype == np.int32 and out.dtype.isnative
    np.testing.assert_array_equal(out, values)
    floats = np.array([0.5, -1.25], dtype=np.float64)
    path = write(os.path.join(str(tmp_path), "f.idx"), idx_bytes(floats, 0x0E))
    np.testing.assert_array_equal(read_idx_array(path), floats)


def test_fashion_and_kmnist_use_their_folders_and_classes(tmp_path):
    make_mnist(str(tmp_path), name="FashionMNIST")
    make_mnist(str(tmp_path), name="KMNIST", gz=True)
    fashion = datasets.FashionMNIST(str(tmp_path))
    assert fashion.classes[0] == "T-shirt/top" and len(fashion.classes) == 10
    kmnist = datasets.KMNIST(str(tmp_path), train=False)
    assert kmnist.classes[:3] == ["o", "ki", "su"] and len(kmnist) == 5
    with pytest.raises(RuntimeError, match="Dataset not found"):
        datasets.MNIST(str(tmp_path))


def test_emnist_split_files_and_classes(tmp_path):
    raw = os.path.join(str(tmp_path), "EMNIST", "raw")
    images = np.arange(2 * 28 * 28, dtype=np.uint32).reshape(2, 28, 28).astype(np.uint8)
    write(os.path.join(raw, "emnist-letters-test-images-idx3-ubyte"), idx_bytes(images), True)
    write(
        os.path.join(raw, "emnist-letters-test-labels-idx1-ubyte"),
        idx_bytes(np.array([1, 26], np.uint8)),
    )
    ds = datasets.EMNIST(str(tmp_path), split="letters", train=False)
    assert ds.classes[0] == "N/A" and ds.classes[26] == "z"
    assert ds.targets.tolist() == [1, 26]
    np.testing.assert_array_equal(np.asarray(ds[1][0]), images[1])
    assert len(datasets.EMNIST.classes_split_dict["byclass"]) == 62
    assert len(datasets.EMNIST.classes_split_dict["balanced"]) == 47
    with pytest.raises(ValueError, match="Unknown value 'bogus' for argument split"):
        datasets.EMNIST(str(tmp_path), split="bogus")
    with pytest.raises(RuntimeError, match="emnist-letters-train-images-idx3-ubyte"):
        datasets.EMNIST(str(tmp_path), split="letters")


# --- CIFAR ---------------------------------------------------------------------------------


def write_cifar_batch(path, data, labels, key="labels"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        pickle.dump({"batch_label": "x", key: labels, "data": data, "filenames": []}, f, 2)


def make_cifar10(root, per_batch=2):
    folder = os.path.join(root, "cifar-10-batches-py")
    rng = np.random.default_rng(0)
    batches = []
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8)
        labels = rng.integers(0, 10, per_batch).tolist()
        write_cifar_batch(os.path.join(folder, name), data, labels)
        batches.append((data, labels))
    names = ["airplane", "automobile", "bird", "cat", "deer"] + [
        "dog",
        "frog",
        "horse",
        "ship",
        "truck",
    ]
    with open(os.path.join(folder, "batches.meta"), "wb") as f:
        pickle.dump({"label_names": names, "num_cases_per_batch": per_batch}, f)
    return batches


def test_cifar10_reads_pickled_batches_as_hwc(tmp_path):
    batches = make_cifar10(str(tmp_path))
    ds = datasets.CIFAR10(str(tmp_path), train=True)
    assert isinstance(ds.data, np.ndarray) and ds.data.dtype == np.uint8
    assert ds.data.shape == (10, 32, 32, 3)
    assert ds.targets == [t for _, labels in batches[:5] for t in labels]
    # Row k of batch 2 holds 1024 red, then green, then blue values, row-major.
    planes = batches[1][0][1].reshape(3, 32, 32)
    img, target = ds[3]
    assert img.mode == "RGB" and img.size == (32, 32) and target == batches[1][1][1]
    np.testing.assert_array_equal(np.asarray(img)[5, 7], planes[:, 5, 7])
    assert ds.classes[3] == "cat" and ds.class_to_idx["truck"] == 9
    test = datasets.CIFAR10(str(tmp_path), train=False, transform=transforms.ToTensor())
    x, _ = test[1]
    np.testing.assert_array_equal(
        x.numpy(), batches[5][0][1].reshape(3, 32, 32).astype(np.float32) / np.float32(255)
    )


def test_cifar100_fine_labels(tmp_path):
    folder = os.path.join(str(tmp_path), "cifar-100-python")
    data = np.zeros((3, 3072), np.uint8)
    write_cifar_batch(os.path.join(folder, "test"), data, [5, 99, 0], key="fine_labels")
    with open(os.path.join(folder, "meta"), "wb") as f:
        pickle.dump({"fine_label_names": [f"c{i}" for i in range(100)]}, f)
    ds = datasets.CIFAR100(str(tmp_path), train=False)
    assert ds.targets == [5, 99, 0] and len(ds.classes) == 100 and ds[1][1] == 99


def test_cifar_refuses_code_in_pickles(tmp_path):
    make_cifar10(str(tmp_path))
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = os.path.join(str(tmp_path), "cifar-10-batches-py", "test_batch")
    with open(path, "wb") as f:
        pickle.dump({"data": Evil(), "labels": []}, f)
    with pytest.raises(RuntimeError, match="refused .*system"):
        datasets.CIFAR10(str(tmp_path), train=False)
    assert not marker.exists()


def test_cifar_missing_and_malformed(tmp_path):
    with pytest.raises(RuntimeError, match="Dataset not found or corrupted.*data_batch_1"):
        datasets.CIFAR10(str(tmp_path))
    make_cifar10(str(tmp_path))
    path = os.path.join(str(tmp_path), "cifar-10-batches-py", "test_batch")
    write_cifar_batch(path, np.zeros((2, 100), np.uint8), [0, 1])
    with pytest.raises(RuntimeError, match="not a valid CIFAR batch"):
        datasets.CIFAR10(str(tmp_path), train=False)
    write_cifar_batch(path, np.zeros((2, 3072), np.uint8), [0])
    with pytest.raises(RuntimeError, match="2 images but 1 labels"):
        datasets.CIFAR10(str(tmp_path), train=False)


# --- folders -------------------------------------------------------------------------------


def make_image_tree(root):
    rng = np.random.default_rng(0)
    layout = {"dog": ["b.png", "a.jpg", "sub/c.png", "notes.txt"], "cat": ["z.bmp"], "empty": []}
    for cls, files in layout.items():
        os.makedirs(os.path.join(root, cls), exist_ok=True)
        for name in files:
            path = os.path.join(root, cls, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            if name.endswith(".txt"):
                with open(path, "w") as f:
                    f.write("not an image")
            else:
                pixels = rng.integers(0, 256, (4, 6), dtype=np.uint8)
                Image.fromarray(pixels, "L").save(path)


def test_image_folder_sorted_classes_and_samples(tmp_path):
    make_image_tree(str(tmp_path))
    ds = datasets.ImageFolder(str(tmp_path), allow_empty=True)
    assert ds.classes == ["cat", "dog", "empty"]
    assert ds.class_to_idx == {"cat": 0, "dog": 1, "empty": 2}
    rel = [(os.path.relpath(p, str(tmp_path)), t) for p, t in ds.samples]
    assert rel == [
        (os.path.join("cat", "z.bmp"), 0),
        (os.path.join("dog", "a.jpg"), 1),
        (os.path.join("dog", "b.png"), 1),
        (os.path.join("dog", "sub", "c.png"), 1),
    ]
    assert ds.targets == [0, 1, 1, 1] and ds.imgs is ds.samples
    img, target = ds[2]
    assert img.mode == "RGB" and img.size == (6, 4) and target == 1
    gray = np.asarray(Image.open(ds.samples[2][0]))
    np.testing.assert_array_equal(np.asarray(img)[..., 0], gray)


def test_image_folder_empty_class_and_errors(tmp_path):
    make_image_tree(str(tmp_path))
    with pytest.raises(FileNotFoundError, match="Found no valid file for the classes empty"):
        datasets.ImageFolder(str(tmp_path))
    with pytest.raises(FileNotFoundError, match="Couldn't find any class folder"):
        datasets.ImageFolder(str(tmp_path / "cat"))
    with pytest.raises(ValueError, match="Both extensions and is_valid_file"):
        datasets.DatasetFolder(str(tmp_path), loader=open)
    with pytest.raises(ValueError, match="Both extensions and is_valid_file"):
        datasets.DatasetFolder(str(tmp_path), open, extensions=".png", is_valid_file=bool)


def test_dataset_folder_custom_loader_and_validity(tmp_path):
    make_image_tree(str(tmp_path))
    ds = datasets.DatasetFolder(
        str(tmp_path),
        loader=lambda p: os.path.getsize(p),
        is_valid_file=lambda p: p.endswith(".txt"),
        allow_empty=True,
        target_transform=lambda t: -t,
    )
    assert len(ds) == 1 and ds[0] == (len("not an image"), -1)

    class OnlyDogs(datasets.DatasetFolder):
        def find_classes(self, directory):
            return ["dog"], {"dog": 0}

    dogs = OnlyDogs(str(tmp_path), loader=lambda p: p, extensions=(".png",))
    assert [os.path.basename(p) for p, _ in dogs.samples] == ["b.png", "c.png"]


# --- FakeData ------------------------------------------------------------------------------


def test_fake_data_is_reproducible_and_leaves_global_rng_alone():
    ds = datasets.FakeData(size=4, image_size=(3, 5, 7), num_classes=3)
    rtorch.manual_seed(123)
    expected_next = rtorch.rand(3)
    rtorch.manual_seed(123)
    img, target = ds[2]
    assert rtorch.equal(rtorch.rand(3), expected_next)
    assert img.mode == "RGB" and img.size == (7, 5) and 0 <= target < 3
    img2, target2 = ds[2]
    assert np.array_equal(np.asarray(img), np.asarray(img2)) and target == target2
    other = datasets.FakeData(size=4, image_size=(3, 5, 7), random_offset=10)
    assert not np.array_equal(np.asarray(other[2][0]), np.asarray(img))
    assert len(ds) == 4
    with pytest.raises(IndexError, match="FakeData index out of range"):
        ds[4]
    gray = datasets.FakeData(size=1, image_size=(1, 4, 4), transform=transforms.ToTensor())
    assert tuple(gray[0][0].shape) == (1, 4, 4)


def test_vision_dataset_transform_arguments_are_exclusive():
    with pytest.raises(ValueError, match="Only transforms or transform/target_transform"):
        datasets.VisionDataset("x", transforms=lambda a, b: (a, b), transform=lambda a: a)
