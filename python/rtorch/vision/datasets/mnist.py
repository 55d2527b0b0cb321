"""MNIST-family datasets (MNIST, FashionMNIST, KMNIST, EMNIST) read from IDX files.

Files are looked up in torchvision's layout, ``root/<ClassName>/raw/<name>``, and may be
gzipped or not (``<name>`` or ``<name>.gz``). As a convenience for this repository, whose
real MNIST lives flat in ``data/mnist/*.gz``, the folder ``root/<classname in lower
case>/`` is searched too: ``MNIST(root="data")`` finds ``data/mnist/train-images-idx3-ubyte.gz``.
"""

from __future__ import annotations

import os
import string
import warnings
from typing import Any, Callable, ClassVar

import numpy as np

import rtorch

from .utils import download_from_mirrors, read_idx_array, verify_str_arg
from .vision import VisionDataset, _apply_transforms

__all__ = ["EMNIST", "KMNIST", "MNIST", "FashionMNIST", "read_image_file", "read_label_file"]


def read_image_file(path: str) -> rtorch.Tensor:
    """An IDX file of uint8 images (gzipped or not) as a uint8 tensor N x H x W."""
    array = read_idx_array(path)
    if array.dtype != np.uint8:
        raise TypeError(f"x should be of dtype torch.uint8 instead of {array.dtype}")
    if array.ndim != 3:
        raise ValueError(f"x should have 3 dimension instead of {array.ndim}")
    return rtorch.from_numpy(array)


def read_label_file(path: str) -> rtorch.Tensor:
    """An IDX file of uint8 labels (gzipped or not) as an int64 tensor of length N."""
    array = read_idx_array(path)
    if array.dtype != np.uint8:
        raise TypeError(f"x should be of dtype torch.uint8 instead of {array.dtype}")
    if array.ndim != 1:
        raise ValueError(f"x should have 1 dimension instead of {array.ndim}")
    return rtorch.from_numpy(array.astype(np.int64))


class MNIST(VisionDataset):
    """The MNIST handwritten digits (60,000 train, 10,000 test images of 28x28).

    Args:
        root: directory holding ``MNIST/raw/train-images-idx3-ubyte`` etc. (gzipped or
            not), or ``mnist/train-images-idx3-ubyte.gz`` etc. directly under it.
        train: the training set if True, otherwise the test set.
        transform: applied to the PIL image (mode ``'L'``).
        target_transform: applied to the int label.
        download: fetch the files from the official mirrors (md5-checked) when missing.

    Attributes:
        data (Tensor): uint8, N x 28 x 28.   targets (Tensor): int64, N.
    """

    mirrors: ClassVar[list[str]] = [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ]
    resources: ClassVar[list[tuple[str, str]]] = [
        ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
        ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
        ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
    ]
    classes: ClassVar[list[str]] = [
        "0 - zero",
        "1 - one",
        "2 - two",
        "3 - three",
        "4 - four",
        "5 - five",
        "6 - six",
        "7 - seven",
        "8 - eight",
        "9 - nine",
    ]

    def __init__(
        self,
        root: str,
        train: bool = True,
        transform: Callable | None = None,
        target_transform: Callable | None = None,
        download: bool = False,
    ) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.train = train
        if self._check_legacy_exist():
            self.data, self.targets = self._load_legacy_data()
            return
        if download:
            self.download()
        missing = [name for name in self._needed_files() if self._find(name) is None]
        if missing:
            raise RuntimeError(
                "Dataset not found. You can use download=True to download it, or put the "
                f"files {', '.join(n + '(.gz)' for n in missing)} in {self.raw_folder}"
            )
        self.data, self.targets = self._load_data()

    training_file = "training.pt"
    test_file = "test.pt"

    # --- files -------------------------------------------------------------------------

    def _check_legacy_exist(self) -> bool:
        """Old torchvision versions cached (data, targets) in processed/{training,test}.pt."""
        folder = self.processed_folder
        return all(
            os.path.isfile(os.path.join(folder, name))
            for name in (self.training_file, self.test_file)
        )

    def _load_legacy_data(self) -> tuple[rtorch.Tensor, rtorch.Tensor]:
        name = self.training_file if self.train else self.test_file
        return rtorch.load(os.path.join(self.processed_folder, name), weights_only=True)

    @property
    def raw_folder(self) -> str:
        return os.path.join(self.root, self.__class__.__name__, "raw")

    @property
    def processed_folder(self) -> str:
        return os.path.join(self.root, self.__class__.__name__, "processed")

    def _search_folders(self) -> list[str]:
        return [self.raw_folder, os.path.join(self.root, self.__class__.__name__.lower())]

    def _find(self, name: str) -> str | None:
        """The path of ``name`` or ``name.gz`` in the searched folders, or None."""
        for folder in self._search_folders():
            for candidate in (name, name + ".gz"):
                path = os.path.join(folder, candidate)
                if os.path.isfile(path):
                    return path
        return None

    def _needed_files(self) -> list[str]:
        prefix = "train" if self.train else "t10k"
        return [f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"]

    def _check_exists(self) -> bool:
        return all(self._find(name) is not None for name in self._needed_files())

    def _load_data(self) -> tuple[rtorch.Tensor, rtorch.Tensor]:
        images_name, labels_name = self._needed_files()
        data = read_image_file(self._find(images_name))
        targets = read_label_file(self._find(labels_name))
        if len(data) != len(targets):
            raise RuntimeError(
                f"{images_name} holds {len(data)} images but {labels_name} holds "
                f"{len(targets)} labels"
            )
        return data, targets

    def download(self) -> None:
        """Download the missing files from the mirrors, checking their md5."""
        if self._check_exists():
            return
        os.makedirs(self.raw_folder, exist_ok=True)
        for filename, md5 in self.resources:
            if self._find(filename[: -len(".gz")]) is None:
                download_from_mirrors(filename, md5, self.mirrors, self.raw_folder, extract=False)

    # --- items -------------------------------------------------------------------------

    def _arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """numpy views of ``data``/``targets`` (shared memory), rebuilt if either is reassigned."""
        cache = self.__dict__.get("_array_cache")
        if cache is None or cache[0] is not self.data or cache[1] is not self.targets:
            images = self.data.numpy() if isinstance(self.data, rtorch.Tensor) else self.data
            labels = self.targets.numpy() if isinstance(self.targets, rtorch.Tensor) else None
            cache = (self.data, self.targets, np.asarray(images), labels)
            self.__dict__["_array_cache"] = cache
        return cache[2], cache[3]

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        """Returns ``(image, target)``: a PIL image of mode ``'L'`` and the int class index."""
        images, labels = self._arrays()
        source = (
            (self.data, index)
            if type(index) is int and isinstance(self.data, rtorch.Tensor)
            else None
        )
        img = _gray_image(images[index], source)
        target = int(labels[index]) if labels is not None else int(self.targets[index])
        return _apply_transforms(self.transform, self.target_transform, img, target)

    def __len__(self) -> int:
        return len(self.data)

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state.pop("_array_cache", None)  # views are rebuilt on first use in the new process
        return state

    @property
    def train_labels(self) -> rtorch.Tensor:
        warnings.warn("train_labels has been renamed targets", stacklevel=2)
        return self.targets

    @property
    def test_labels(self) -> rtorch.Tensor:
        warnings.warn("test_labels has been renamed targets", stacklevel=2)
        return self.targets

    @property
    def train_data(self) -> rtorch.Tensor:
        warnings.warn("train_data has been renamed data", stacklevel=2)
        return self.data

    @property
    def test_data(self) -> rtorch.Tensor:
        warnings.warn("test_data has been renamed data", stacklevel=2)
        return self.data

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {_class: i for i, _class in enumerate(self.classes)}

    def extra_repr(self) -> str:
        return f"Split: {'Train' if self.train is True else 'Test'}"


_PIL_IMAGE: Any = None  # PIL.Image, imported on first use


def _gray_image(pixels: np.ndarray, source: Any = None):
    """A mode 'L' PIL image sharing (read-only) the memory of a 2-D uint8 array.

    ``source`` is ``(tensor, index)`` with ``tensor[index]`` holding the same pixels; it is
    attached to the image so that ToTensor can convert with tensor ops while the image is
    unmodified (see ``transforms.functional._shared_pixels``).
    """
    global _PIL_IMAGE
    if _PIL_IMAGE is None:
        from PIL import Image

        _PIL_IMAGE = Image
    if pixels.dtype == np.uint8 and pixels.ndim == 2 and pixels.flags["C_CONTIGUOUS"]:
        height, width = pixels.shape
        # frombuffer avoids fromarray's generic dispatch; PIL copies before any write.
        img = _PIL_IMAGE.frombuffer("L", (width, height), pixels, "raw", "L", 0, 1)
        core = getattr(img, "_im", None)  # Pillow >= 10 keeps the core image here
        # Only read-only images: Pillow copies those before any write (see above).
        if source is not None and core is not None and img.readonly:
            img._rtorch_pixels = (core, source[0], source[1])
        return img
    return _PIL_IMAGE.fromarray(np.ascontiguousarray(pixels, dtype=np.uint8))


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: the MNIST format with ten clothing classes.

    Files in ``root/FashionMNIST/raw/`` (or ``root/fashionmnist/``).
    """

    mirrors: ClassVar[list[str]] = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
    resources: ClassVar[list[tuple[str, str]]] = [
        ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
        ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
        ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
    ]
    classes: ClassVar[list[str]] = [
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ]


class KMNIST(MNIST):
    """Kuzushiji-MNIST: cursive Japanese characters in the MNIST format.

    Files in ``root/KMNIST/raw/`` (or ``root/kmnist/``).
    """

    mirrors: ClassVar[list[str]] = ["http://codh.rois.ac.jp/kmnist/dataset/kmnist/"]
    resources: ClassVar[list[tuple[str, str]]] = [
        ("train-images-idx3-ubyte.gz", "bdb82020997e1d708af4cf47b453dcf7"),
        ("train-labels-idx1-ubyte.gz", "e144d726b3acfaa3e44228e80efcd344"),
        ("t10k-images-idx3-ubyte.gz", "5c965bf0a639b31b8f53240b1b52f4d7"),
        ("t10k-labels-idx1-ubyte.gz", "7320c461ea6c1c855c0b718fb2a4b134"),
    ]
    classes: ClassVar[list[str]] = ["o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"]


class EMNIST(MNIST):
    """EMNIST: handwritten letters and digits in six splits.

    Args:
        root: directory holding ``EMNIST/raw/emnist-<split>-train-images-idx3-ubyte`` etc.
        split: one of ``byclass``, ``bymerge``, ``balanced``, ``letters``, ``digits``, ``mnist``.
        **kwargs: ``train``, ``transform``, ``target_transform``, ``download`` as for MNIST.
    """

    url = "https://biometrics.nist.gov/cs_links/EMNIST/gzip.zip"
    md5 = "58c8d27c78d21e728a6bc7b3cc06412e"
    splits = ("byclass", "bymerge", "balanced", "letters", "digits", "mnist")
    # Letters whose upper and lower case are merged in the bymerge/balanced splits.
    _merged_classes: ClassVar[set[str]] = {
        "c",
        "i",
        "j",
        "k",
        "l",
        "m",
        "o",
        "p",
        "s",
        "u",
        "v",
        "w",
        "x",
        "y",
        "z",
    }
    _all_classes: ClassVar[set[str]] = set(string.digits + string.ascii_letters)
    classes_split_dict: ClassVar[dict[str, list[str]]] = {
        "byclass": sorted(_all_classes),
        "bymerge": sorted(_all_classes - _merged_classes),
        "balanced": sorted(_all_classes - _merged_classes),
        "letters": ["N/A"] + list(string.ascii_lowercase),
        "digits": list(string.digits),
        "mnist": list(string.digits),
    }

    def __init__(self, root: str, split: str, **kwargs: Any) -> None:
        self.split = verify_str_arg(split, "split", self.splits)
        self.training_file = f"training_{split}.pt"
        self.test_file = f"test_{split}.pt"
        super().__init__(root, **kwargs)
        self.classes = self.classes_split_dict[self.split]

    def _needed_files(self) -> list[str]:
        prefix = f"emnist-{self.split}-{'train' if self.train else 'test'}"
        return [f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"]

    @property
    def images_file(self) -> str:
        return os.path.join(self.raw_folder, self._needed_files()[0])

    @property
    def labels_file(self) -> str:
        return os.path.join(self.raw_folder, self._needed_files()[1])

    def download(self) -> None:
        """Download the EMNIST zip (md5-checked) and unpack its gzip folder into raw/."""
        if self._check_exists():
            return
        os.makedirs(self.raw_folder, exist_ok=True)
        mirror, filename = self.url.rsplit("/", 1)
        download_from_mirrors(filename, self.md5, [mirror + "/"], self.raw_folder, extract=True)
        gzip_folder = os.path.join(self.raw_folder, "gzip")
        if os.path.isdir(gzip_folder):
            for name in os.listdir(gzip_folder):
                os.replace(os.path.join(gzip_folder, name), os.path.join(self.raw_folder, name))
            os.rmdir(gzip_folder)
