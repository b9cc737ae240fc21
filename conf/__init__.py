"""The config tree of `python train.py`, shipped as package data (`pkg://toolkit.conf`)."""
