"""Optional extras in tests: a skip where the extra is simply not installed, a failure in CI.

CI installs `.[test]`, which holds every extra the tests use; there a missing module is a broken
install or a broken import, and a skip would hide it. CI is recognised by the `CI`
variable that CI services set (GitHub Actions, GitLab, ...), or HPSWEEP_REQUIRE_EXTRAS=1.
"""

import importlib
import os

import pytest


def in_ci() -> bool:
    return any(os.environ.get(v, "").lower() not in ("", "0", "false") for v in ("CI", "HPSWEEP_REQUIRE_EXTRAS"))


def require_extra(*modules: str, extra: str) -> None:
    """Import `modules`; when one is missing, skip the calling module (fail it in CI)."""
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as e:
            message = f"{name} is missing ({e}): pip install 'hpsweep[{extra}]'"
            if in_ci():
                pytest.fail(f"in CI every extra is installed; {message}", pytrace=False)
            pytest.skip(message, allow_module_level=True)
