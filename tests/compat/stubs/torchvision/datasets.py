"""``torchvision.datasets.MNIST`` (and CIFAR10) without a download: digits from scikit-learn,
28x28 uint8 (32x32x3 for CIFAR10)."""

from __future__ import annotations

from typing import Any

import numpy as np

TRAIN, TEST = 320, 160  # small: the programs run in seconds


def _digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = np.kron(bunch.images, np.ones((3, 3))) * (255.0 / 16.0)  # 24x24, 0..255
    images = np.pad(images, ((0, 0), (2, 2), (2, 2))).round().astype(np.uint8)
    return images, bunch.target.astype(np.int64)


class MNIST:
    """(image, label) pairs; ``transform`` gets a (28, 28) uint8 array, as from a PIL image;
    ``data`` (N, 28, 28) uint8 and ``targets`` (N,) int64 are tensors, as torchvision's."""

    def __init__(
        self,
        root: str,
        train: bool = True,
        transform: Any = None,
        target_transform: Any = None,
        download: bool = False,
    ) -> None:
        import torch

        images, labels = _digits()
        part = slice(0, TRAIN) if train else slice(TRAIN, TRAIN + TEST)
        self.data, self.targets = torch.from_numpy(images[part]), torch.from_numpy(labels[part])
        self.transform, self.target_transform = transform, target_transform

    # torchvision's old names, which older tutorials read (``train_data.unsqueeze(1)``)
    train_data = test_data = property(lambda self: self.data)
    train_labels = test_labels = property(lambda self: self.targets)

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, i: int) -> tuple[Any, Any]:
        img, target = self.data[i].numpy(), int(self.targets[i])
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target


class FakeData:
    """Random (H, W, C) uint8 images and class labels, fixed by ``random_offset`` (a seeded
    NumPy generator, so both runs see the same images); only 12 by default, to run fast."""

    def __init__(
        self,
        size: int = 12,
        image_size: tuple = (3, 224, 224),
        num_classes: int = 10,
        transform: Any = None,
        target_transform: Any = None,
        random_offset: int = 0,
    ) -> None:
        rng = np.random.default_rng(random_offset)
        c, h, w = image_size
        self.data = rng.integers(0, 256, size=(size, h, w, c), dtype=np.uint8)
        self.targets = rng.integers(0, num_classes, size=size)
        self.transform, self.target_transform = transform, target_transform

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, i: int) -> tuple[Any, Any]:
        img, target = self.data[i], int(self.targets[i])
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target


class FashionMNIST(MNIST):
    """``torchvision.datasets.FashionMNIST`` without a download: the same local 28x28 digits
    (ten classes, uint8), which is all a program can tell of the data."""


class CIFAR10:
    """``torchvision.datasets.CIFAR10`` without a download: the local digits scaled up to 32x32
    with three differently weighted colour channels, (H, W, C) uint8 as from a PIL image; ten
    classes, ``targets`` a list of ints as torchvision's."""

    def __init__(
        self,
        root: str,
        train: bool = True,
        transform: Any = None,
        target_transform: Any = None,
        download: bool = False,
    ) -> None:
        from sklearn.datasets import load_digits

        bunch = load_digits()
        grey = np.kron(bunch.images, np.ones((4, 4))) / 16.0  # 32x32, 0..1
        rgb = np.stack([grey, grey[:, ::-1] * 0.75, 0.5 + grey[:, :, ::-1] * 0.5], axis=-1)
        part = slice(0, TRAIN) if train else slice(TRAIN, TRAIN + TEST)
        self.data = (rgb[part] * 255).round().astype(np.uint8)
        self.targets = bunch.target[part].tolist()
        self.classes = ["airplane", "automobile", "bird", "cat", "deer"]
        self.classes += ["dog", "frog", "horse", "ship", "truck"]
        self.transform, self.target_transform = transform, target_transform

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, i: int) -> tuple[Any, Any]:
        img, target = self.data[i], self.targets[i]
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target
