"""Labels that are not class indices stop the run with one message naming the data, the label and the
class count: on the first samples, in a later training batch, in the val split, and of another dtype."""

from __future__ import annotations

import re

import pytest

from toolkit.training.module import LabelError
from toolkit.training.run import run

DATA = ["data=custom", "data._target_=user_code.BadLabels", "trainer.max_epochs=2", "model.widths=[8]"]
EXPECTED = re.escape("labels must be class indices from 0 to 2 (3 classes); cross_entropy would skip -100 and fail")


@pytest.mark.parametrize(
    ("arguments", "where"),
    [
        (["+data.label=-100"], "its first training samples"),  # cross_entropy's ignore_index: trained silently
        (["+data.label=3"], "its first training samples"),  # an IndexError inside the loss
        (["+data.label=-1", "+data.start=2"], r"a train batch \(step [1-9]\d*, epoch 1\)"),
        (["+data.label=7", "+data.split=1"], "a val batch"),
    ],
)
def test_labels_out_of_range_are_named(compose_config, tmp_path, user_code, arguments, where):
    label = arguments[0].split("=")[1]
    message = rf"^data=BadLabels gives the label {label} in {where}: {EXPECTED}"
    with pytest.raises(LabelError, match=message):
        run(compose_config(*DATA, *arguments), tmp_path)


@pytest.mark.parametrize("dtype", ["float32", "int32"])
def test_labels_of_another_dtype_are_named(compose_config, tmp_path, user_code, dtype):
    message = rf"^data=BadLabels gives labels of dtype torch.{dtype}: labels must be class indices of dtype torch.int64"
    with pytest.raises(LabelError, match=message):
        run(compose_config(*DATA, f"+data.dtype={dtype}"), tmp_path)
