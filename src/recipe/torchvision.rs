//! torchvision `train.py` command lines: import and export.
