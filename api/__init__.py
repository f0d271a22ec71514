"""hpsweep: sweep varied-sparsity block RNNs on Ray Tune and learn which model to build before
training it.

This folder installs as the `hpsweep` package; the repository's sweep/, workers/ and analysis/
folders install beneath it as `hpsweep.sweep`, `hpsweep.workers` and `hpsweep.analysis`
(pyproject.toml's package-dir mapping).
"""

from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("hpsweep")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
