"""The scheduler's time core is pure: its tests need no Django.

tests/conftest.py has autouse fixtures that need Django settings; they are
replaced here by no-ops of the same names so that
``pytest -p no:django tests/scheduler`` runs without settings or a database.
"""

import pytest


@pytest.fixture(autouse=True)
def _fast_passwords():
    """No users are created by these tests."""


@pytest.fixture(autouse=True)
def _clean_site():
    """No site files are written by these tests."""
