"""Datasets and transforms, pure NumPy on the host: VOC, SBD, the built-in synthetic set.

>>> from minifcn.data import VOC_CLASSES, SYNTHETIC_CLASSES
>>> len(VOC_CLASSES), SYNTHETIC_CLASSES[-1]
(21, 'dot')
"""
from .voc import (VOC_CLASSES, BadSampleError, SBDSegmentation, VOCSegmentation,
                  iterate_batches, read_split_file, subset, voc_palette)
from .synthetic import SYNTHETIC_CLASSES, SyntheticSegmentation, make_synthetic_voc
from .transforms import (Compose, Normalize, RandomCrop, RandomHorizontalFlip, RandomScale,
                         ToCHW, build_transform)
from .loader import DataLoader
from .download import DATASETS, extract_tar, prepare  # download() stays in .download: the name is the module
