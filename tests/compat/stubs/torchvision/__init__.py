"""A stand-in for the parts of torchvision the example programs use, built on whichever library
``import torch`` currently gives (PyTorch or glassgrad): ``datasets.MNIST`` serves handwritten
digits from scikit-learn (8x8, scaled up to 28x28) instead of downloading MNIST, and
``transforms`` converts and normalises them. Both runs of a program get the same images."""

from torchvision import datasets, transforms, utils

__all__ = ["datasets", "transforms", "utils"]
