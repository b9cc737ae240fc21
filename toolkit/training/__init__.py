"""Training with Lightning: the LightningModule, the data modules and `run(cfg)`."""

from .run import run

__all__ = ["run"]
