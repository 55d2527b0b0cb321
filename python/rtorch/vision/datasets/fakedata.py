"""FakeData: random images, reproducible per index."""

from __future__ import annotations

from typing import Any, Callable

import rtorch

from .vision import VisionDataset, _apply_transforms

__all__ = ["FakeData"]


class FakeData(VisionDataset):
    """Random images (standard normal pixels) returned as PIL images, with random labels.

    Item ``i`` is drawn from a generator seeded with ``i + random_offset``, so it is the
    same every time it is read and independent of the global RNG (left untouched).

    Args:
        size: number of images.
        image_size: (C, H, W) of each image.
        num_classes: labels are drawn from ``range(num_classes)``.
        transform, target_transform: as for the other datasets.
        random_offset: shifts the per-index seeds, to get a different fake dataset.
    """

    def __init__(
        self,
        size: int = 1000,
        image_size: tuple[int, int, int] = (3, 224, 224),
        num_classes: int = 10,
        transform: Callable | None = None,
        target_transform: Callable | None = None,
        random_offset: int = 0,
    ) -> None:
        super().__init__(None, transform=transform, target_transform=target_transform)
        self.size = size
        self.num_classes = num_classes
        self.image_size = image_size
        self.random_offset = random_offset

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        from ..transforms import functional as F

        if index >= len(self):
            raise IndexError(f"{self.__class__.__name__} index out of range")
        generator = rtorch.Generator()
        generator.manual_seed(index + self.random_offset)
        img = rtorch.randn(*self.image_size, generator=generator)
        target = int(rtorch.randint(0, self.num_classes, (1,), generator=generator).item())
        img = F.to_pil_image(img)
        return _apply_transforms(self.transform, self.target_transform, img, target)

    def __len__(self) -> int:
        return self.size
