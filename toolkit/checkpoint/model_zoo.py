"""Model-zoo tables: names to checkpoint URLs or paths, for `open-mmlab://` and `torchvision://`.

The default `open-mmlab.json` ships with the package; a user's `$TOOLKIT_HOME/open-mmlab.json`
(or MMCV's spelling, `open_mmlab.json`) is merged over it, the user's entries winning.
"""

from __future__ import annotations

import difflib
import importlib.util
import json
import warnings
from pathlib import Path

from .errors import CheckpointError, CheckpointNotFoundError
from .paths import toolkit_home

TABLES = Path(__file__).parent / "tables"
USER_TABLE_NAMES = ("open_mmlab.json", "open-mmlab.json")
ZOO_SCHEMES = ("open-mmlab://", "openmmlab://")


def _read_table(path: Path) -> dict[str, str]:
    try:
        table = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"cannot read the model-zoo table {str(path)!r}: {error}") from error
    if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
        raise CheckpointError(f"the model-zoo table {str(path)!r} must map names to URL or path strings")
    return table


def get_model_zoo_urls() -> dict[str, str]:
    """The merged `open-mmlab://` table: the shipped one, then the user's tables over it.

    >>> get_model_zoo_urls()['vgg16_caffe']
    'https://download.openmmlab.com/pretrain/third_party/vgg16_caffe-292e1171.pth'
    """
    urls = _read_table(TABLES / "open-mmlab.json")
    for name in USER_TABLE_NAMES:
        user_table = toolkit_home() / name
        if user_table.is_file():
            urls.update(_read_table(user_table))
    return urls


def _unknown(name: str, scheme: str, table: dict[str, str]) -> CheckpointNotFoundError:
    close = difflib.get_close_matches(name, list(table), n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else f"; known names: {', '.join(sorted(table))}"
    return CheckpointNotFoundError(f"{scheme}{name} is not in the model-zoo table{hint}")


def resolve_open_mmlab(name: str, scheme: str = "open-mmlab://") -> str:
    """The source of a model-zoo name: a URL, another scheme's name, or a path under `$TOOLKIT_HOME`.

    MMCV's deprecated names warn and map to new ones; an entry that names another model-zoo entry
    (`open-mmlab://other`) is followed, and a loop of such entries is an error.

    >>> resolve_open_mmlab('msra/hrnetv2_w32')
    'https://download.openmmlab.com/pretrain/third_party/hrnetv2_w32-dc9eeb4f.pth'
    """
    deprecated = _read_table(TABLES / "deprecated.json")
    urls = get_model_zoo_urls()
    seen: list[str] = []
    while True:
        if name in deprecated:
            warnings.warn(f"{scheme}{name} is deprecated in favor of {scheme}{deprecated[name]}", DeprecationWarning, 2)
            name = deprecated[name]
        if name in seen:
            chain = " -> ".join(f"{scheme}{step}" for step in [*seen, name])
            raise CheckpointError(f"the model-zoo entries form a loop: {chain}")
        seen.append(name)
        if name not in urls:
            raise _unknown(name, scheme, urls)
        entry = urls[name]
        inner = next((prefix for prefix in ZOO_SCHEMES if entry.startswith(prefix)), None)
        if inner is None:
            break
        name, scheme = entry[len(inner) :], inner
    if "://" in entry:
        return entry
    return str(toolkit_home() / entry)


def torchvision_url(name: str) -> str:
    """The URL of torchvision's ImageNet weights for a model (`resnet50`, or `resnet50.imagenet1k_v2`).

    torchvision's own tables are used when it is installed; otherwise the table shipped here.

    >>> torchvision_url('resnet18')
    'https://download.pytorch.org/models/resnet18-f37072fd.pth'
    """
    if importlib.util.find_spec("torchvision") is not None:
        url = _installed_torchvision_url(name)
        if url is not None:
            return url
    table = _read_table(TABLES / "torchvision.json")
    if name not in table:
        raise _unknown(name, "torchvision://", table)
    return table[name]


def _installed_torchvision_url(name: str) -> str | None:
    from torchvision.models import get_model_weights

    model, _, tag = name.partition(".")
    try:
        weights = get_model_weights(model)
    except (ValueError, KeyError):
        return None
    member = tag.upper() or ("IMAGENET1K_V1" if hasattr(weights, "IMAGENET1K_V1") else "DEFAULT")
    return getattr(weights, member).url if hasattr(weights, member) else None
