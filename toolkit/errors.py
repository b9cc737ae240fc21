"""Errors shared by every layer of toolkit.

Where MMCV validates an argument with `assert`, toolkit raises an error of the natural type with a
message that names the key and what is allowed; it also derives from `AssertionError`, so code and
tests written for MMCV still catch it. `one_message` is an error's message as the command line
shows it.

>>> issubclass(ArgumentTypeError, TypeError) and issubclass(ArgumentTypeError, AssertionError)
True
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


class ConfigError(ValueError):
    """A config that composes but cannot be built; the message names the key and the value."""


class OutputError(OSError):
    """An output of a run (a checkpoint, metrics.json, an export) could not be written; the message says
    which file and why (a full disk, say), and what was kept."""


class StoppedBySignal(Exception):
    """A run stopped by a signal (SIGTERM: a cluster's preemption, `scancel`); `exit_status` is the shell's
    convention for it (128 + the signal's number), so schedulers and scripts see that it did not finish."""

    def __init__(self, message: str, exit_status: int) -> None:
        super().__init__(message)
        self.exit_status = exit_status


class ArgumentTypeError(TypeError, AssertionError):
    """An argument of the wrong type (MMCV asserts it)."""


class ArgumentValueError(ValueError, AssertionError):
    """An argument with a value that is not allowed (MMCV asserts it)."""


class ArgumentKeyError(KeyError, AssertionError):
    """A cfg that lacks a key it needs (MMCV asserts it)."""


class ChildNotFoundError(ValueError, RuntimeError):
    """An init override names no child of the module (MMCV raises RuntimeError)."""


def add_note(error: BaseException, note: str) -> None:
    """Add `note` to `error`, printed under its traceback (Python 3.11's `add_note`; on 3.10 it is kept
    in `__notes__` only).

    >>> error = RuntimeError('boom')
    >>> add_note(error, 'model: mypkg.Net() raised it')
    >>> error.__notes__
    ['model: mypkg.Net() raised it']
    """
    if hasattr(error, "add_note"):
        error.add_note(note)
    else:
        error.__notes__ = [*getattr(error, "__notes__", []), note]


def with_context(error: BaseException, context: str, after: str = "") -> BaseException:
    """`error` itself, its message now between `context` and `after`: its type and attributes stay, so
    an `except` written for the original still catches it. An error whose first argument is not a
    message (an OSError's errno) gets them as a note instead.

    >>> with_context(KeyError('BN3'), 'layer conv1: ')
    KeyError('layer conv1: BN3')
    >>> with_context(ValueError('NaN loss'), 'training stopped: ', '; no checkpoint was written yet')
    ValueError('training stopped: NaN loss; no checkpoint was written yet')
    """
    if error.args and isinstance(error.args[0], str):
        error.args = (f"{context}{error.args[0]}{after}", *error.args[1:])
    else:
        add_note(error, f"{context.rstrip(': ')}{after}")
    return error


@contextlib.contextmanager
def building(path: str) -> Iterator[None]:
    """Name the layer being built (its path in the model) in its build error, keeping the error's type.

    >>> with building('stages.0.1'):
    ...     raise ValueError('GN: num_groups=3 does not divide the 32 channels')
    Traceback (most recent call last):
    ...
    ValueError: layer stages.0.1: GN: num_groups=3 does not divide the 32 channels
    """
    try:
        yield
    except (ValueError, KeyError, TypeError) as error:
        with_context(error, f"layer {path}: ")
        raise


def one_message(error: Exception) -> str:
    """The error's message; for one raised in a DataLoader worker, which torch re-raises with the
    worker's traceback in its text, the last line of that traceback without the exception's name.

    >>> one_message(ValueError('Caught ConfigError in DataLoader worker process 1.\\nOriginal Traceback '
    ...                        '(most recent call last):\\ntoolkit.errors.ConfigError: cannot read the image x.png'))
    'cannot read the image x.png'
    """
    text = str(error)
    if "Original Traceback" not in text:
        return text
    last = text.strip().splitlines()[-1]
    return last.split(": ", 1)[-1]
