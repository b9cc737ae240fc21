import os

from hypothesis import settings

# CI explores the same examples on every run; local runs explore new ones.
settings.register_profile("ci", derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") else "default")
