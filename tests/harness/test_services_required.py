"""REQUIRE_SERVICES, as CI sets it: tests needing PostgreSQL, Redis or a browser
fail when it is set and they are missing, and skip when it is not. "0" and the
other false words mean not set."""

import pytest

from tests.instance import services_required


@pytest.mark.parametrize(
    ("value", "required"),
    [
        (None, False),
        ("", False),
        ("0", False),
        ("false", False),
        ("No", False),
        ("off", False),
        ("1", True),
        ("true", True),
        ("yes", True),
    ],
)
def test_it_reads_require_services_as_a_yes_or_no(monkeypatch, value, required):
    if value is None:
        monkeypatch.delenv("REQUIRE_SERVICES", raising=False)
    else:
        monkeypatch.setenv("REQUIRE_SERVICES", value)
    assert services_required() is required
