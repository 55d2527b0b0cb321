"""CIFAR10 / CIFAR100 read from the official python-pickle batches.

Layout, as distributed and as torchvision expects::

    root/cifar-10-batches-py/{data_batch_1..5, test_batch, batches.meta}
    root/cifar-100-python/{train, test, meta}

Unlike torchvision, existing files are not md5-checked on every construction (only
downloads are), so hand-made or re-packed batches in the same format load too. The
pickles are read with a restricted unpickler that admits only numpy arrays and plain
containers: a batch file cannot run code.
"""

from __future__ import annotations

import os
import pickle
from typing import Any, Callable, ClassVar

import numpy as np

from .utils import download_from_mirrors, extract_archive
from .vision import VisionDataset, _apply_transforms

__all__ = ["CIFAR10", "CIFAR100"]

# The globals a numpy array pickled by Python 2 or 3 refers to (copy_reg maps to copyreg).
_NUMPY_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("copyreg", "_reconstructor"),
    # Protocol-2 pickles written by Python 3 spell bytes as _codecs.encode(str, "latin1").
    ("_codecs", "encode"),
}


class _BatchUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _NUMPY_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f"CIFAR batch files may only hold numpy arrays and containers; refused {module}.{name}"
        )


def _load_batch(path: str) -> dict:
    with open(path, "rb") as f:
        try:
            entry = _BatchUnpickler(f, encoding="latin1").load()
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as e:
            raise RuntimeError(f"{path} is not a valid CIFAR batch file: {e}") from None
    if not isinstance(entry, dict):
        raise RuntimeError(f"{path} is not a valid CIFAR batch file: expected a dict")  # noqa: TRY004
    return entry


class CIFAR10(VisionDataset):
    """CIFAR-10: 50,000 train and 10,000 test RGB images of 32x32 in ten classes.

    Args:
        root: directory holding ``cifar-10-batches-py``.
        train: the five training batches if True, otherwise ``test_batch``.
        transform: applied to the PIL image (mode ``'RGB'``).
        target_transform: applied to the int label.
        download: fetch and unpack the official archive (md5-checked) when missing.

    Attributes:
        data (numpy.ndarray): uint8, N x 32 x 32 x 3.   targets (list[int]).
        classes (list[str]), class_to_idx (dict[str, int]).
    """

    base_folder = "cifar-10-batches-py"
    url = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    filename = "cifar-10-python.tar.gz"
    tgz_md5 = "c58f30108f718f92721af3b95e74349a"
    train_list: ClassVar[list[list[str]]] = [
        ["data_batch_1", "c99cafc152244af753f735de768cd75f"],
        ["data_batch_2", "d4bba439e000b95fd0a9bffe97cbabec"],
        ["data_batch_3", "54ebc095f3ab1f0389bbae665268c751"],
        ["data_batch_4", "634d18415352ddfa80567beed471001a"],
        ["data_batch_5", "482c414d41f54cd18b22e5b47cb7c3cb"],
    ]
    test_list: ClassVar[list[list[str]]] = [["test_batch", "40351d587109b95175f43aff81a1287e"]]
    meta: ClassVar[dict[str, str]] = {
        "filename": "batches.meta",
        "key": "label_names",
        "md5": "5ff9c542aee3614f3951f8cda6e48888",
    }

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
        if download:
            self.download()
        if not self._check_integrity():
            folder = os.path.join(self.root, self.base_folder)
            names = [n for n, _ in self.train_list + self.test_list] + [self.meta["filename"]]
            raise RuntimeError(
                "Dataset not found or corrupted. You can use download=True to download it, "
                f"or unpack {self.filename} so that {', '.join(names)} are in {folder}"
            )
        chunks, targets = [], []
        for file_name, _ in self.train_list if self.train else self.test_list:
            path = os.path.join(self.root, self.base_folder, file_name)
            entry = _load_batch(path)
            data = np.asarray(entry.get("data"), dtype=np.uint8)
            labels = entry["labels"] if "labels" in entry else entry.get("fine_labels")
            if labels is None or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
                raise RuntimeError(
                    f"{path} is not a valid CIFAR batch file: expected 'data' of shape "
                    f"(N, 3072) and 'labels' or 'fine_labels'"
                )
            if len(labels) != len(data):
                raise RuntimeError(f"{path}: {len(data)} images but {len(labels)} labels")
            chunks.append(data)
            targets.extend(int(t) for t in labels)
        # Stored as planes (N, 3, 32, 32); images are handed out as HWC like torchvision's.
        self.data: Any = np.vstack(chunks).reshape(-1, 3, 32, 32).transpose((0, 2, 3, 1))
        self.targets = targets
        self._load_meta()

    def _load_meta(self) -> None:
        path = os.path.join(self.root, self.base_folder, self.meta["filename"])
        if not os.path.isfile(path):
            raise RuntimeError(
                "Dataset metadata file not found or corrupted. You can use download=True to "
                f"download it, or put {self.meta['filename']} in {os.path.dirname(path)}"
            )
        self.classes = list(_load_batch(path)[self.meta["key"]])
        self.class_to_idx = {_class: i for i, _class in enumerate(self.classes)}

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        """Returns ``(image, target)``: a PIL RGB image and the int class index."""
        from PIL import Image

        img, target = Image.fromarray(self.data[index]), self.targets[index]
        return _apply_transforms(self.transform, self.target_transform, img, target)

    def __len__(self) -> int:
        return len(self.data)

    def _check_integrity(self) -> bool:
        folder = os.path.join(self.root, self.base_folder)
        names = [name for name, _ in (self.train_list if self.train else self.test_list)]
        return all(os.path.isfile(os.path.join(folder, name)) for name in names)

    def download(self) -> None:
        """Download and unpack the official archive (md5-checked) unless the batches exist."""
        if self._check_integrity():
            return
        mirror = self.url[: -len(self.filename)]
        download_from_mirrors(self.filename, self.tgz_md5, [mirror], self.root, extract=False)
        extract_archive(os.path.join(self.root, self.filename), self.root)

    def extra_repr(self) -> str:
        return f"Split: {'Train' if self.train is True else 'Test'}"


class CIFAR100(CIFAR10):
    """CIFAR-100: as CIFAR10 with 100 fine classes, in ``root/cifar-100-python/``."""

    base_folder = "cifar-100-python"
    url = "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"
    filename = "cifar-100-python.tar.gz"
    tgz_md5 = "eb9058c3a382ffc7106e4002c42a8d85"
    train_list: ClassVar[list[list[str]]] = [["train", "16019d7e3df5f24257cddd939b257f8d"]]
    test_list: ClassVar[list[list[str]]] = [["test", "f0ef6b0ae62326f3e7ffdfab6717acfc"]]
    meta: ClassVar[dict[str, str]] = {
        "filename": "meta",
        "key": "fine_label_names",
        "md5": "7973b15100ade9c7d40fb424638fde48",
    }
