"""A griffe extension for the reference pages: the doctest examples of every docstring (`>>>` lines
and the output under them) shown as Python console blocks, not as Markdown text."""

from __future__ import annotations

from typing import Any

import griffe


def fenced(text: str) -> str:
    """`text` with each run of doctest lines (a `>>>` line, its `...` lines and its output, up to a
    blank line) inside a ```pycon fence indented as its first line.

    >>> print(fenced('Adds one.\\n\\n>>> 1 + 1\\n2'))
    Adds one.
    <BLANKLINE>
    ```pycon
    >>> 1 + 1
    2
    ```
    """
    lines, out, index = text.splitlines(), [], 0
    while index < len(lines):
        line = lines[index]
        if not line.lstrip().startswith(">>>"):
            out.append(line)
            index += 1
            continue
        indent = line[: len(line) - len(line.lstrip())]
        out.append(f"{indent}```pycon")
        while index < len(lines) and lines[index].strip():
            out.append(lines[index])
            index += 1
        out.append(f"{indent}```")
    return "\n".join(out)


class DoctestBlocks(griffe.Extension):
    """Fence the doctest examples of each object's docstring once it is loaded."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None and ">>>" in obj.docstring.value:
            obj.docstring.value = fenced(obj.docstring.value)
