"""The error of a config that composes but cannot be built or run, shared by every layer of toolkit."""

from __future__ import annotations


class ConfigError(ValueError):
    """A config that composes but cannot be built; the message names the key and the value."""
