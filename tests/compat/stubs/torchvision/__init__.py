"""A stand-in for the parts of torchvision the example programs use, built on whichever library
``import torch`` currently gives (PyTorch or glassgrad): ``datasets.MNIST`` serves handwritten
digits from scikit-learn (8x8, scaled up to 28x28) instead of downloading MNIST (CIFAR10 as
32x32 colour digits), ``transforms`` converts and normalises them and ``models.resnet18`` is
torchvision's ResNet-18. Both runs of a program get the same images."""

from torchvision import datasets, models, transforms, utils

__all__ = ["datasets", "models", "transforms", "utils"]
