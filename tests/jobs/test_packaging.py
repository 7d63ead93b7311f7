"""The pure package rules: names, runnable detection, settings.job."""

from __future__ import annotations

import pytest

from core.packaging import PackageError, find_runnable, parse_settings, validate_name


@pytest.mark.parametrize("name", ["a", "9lives", "my-job_2", "A" * 64])
def test_it_accepts_names_of_letters_digits_dash_underscore(name):
    assert validate_name(name) == name


@pytest.mark.parametrize("name", ["", "-a", "_a", "a b", "a.b", "a/b", "é", "A" * 65])
def test_it_refuses_other_names(name):
    with pytest.raises(PackageError, match="Invalid WebJob name"):
        validate_name(name)


def make(tmp_path, *names):
    for name in names:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x")
    return tmp_path


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (["foo.cmd", "bar.py"], "foo.cmd"),  # Kudu: .cmd host comes before python
        (["foo.cmd", "run.js"], "run.js"),  # run.* wins at once
        (["b.py", "a.php"], "b.py"),  # Kudu's code checks .py before .php
        (["x.sh", "RUN.PY"], "RUN.PY"),  # run.* is case-insensitive
        (["app.jar", "readme.md"], "app.jar"),
        (["sub/run.sh"], "sub/run.sh"),  # one folder: descend
        (["sub/run.sh", "top.txt"], None),  # not one folder: no descent, no script
    ],
)
def test_it_picks_the_script_kudu_would(tmp_path, files, expected):
    make(tmp_path, *files)
    if expected is None:
        with pytest.raises(PackageError, match="No runnable script file was found."):
            find_runnable(tmp_path)
    else:
        assert find_runnable(tmp_path).run_command.as_posix() == expected


def test_it_types_known_settings_and_keeps_unknown_ones():
    parsed = parse_settings(
        '{"is_singleton": true, "stopping_wait_time": 9, "x": [1]}', kind="continuous"
    )
    assert parsed.is_singleton is True
    assert parsed.stopping_wait_time("continuous") == 9
    assert parsed.raw["x"] == [1]


def test_it_defaults_settings_as_kudu():
    empty = parse_settings(None, kind="triggered")
    assert empty.stopping_wait_time("triggered") == 30
    assert empty.stopping_wait_time("continuous") == 5
    assert empty.is_in_place(".js") is True
    assert empty.is_in_place(".py") is False


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '{"stopping_wait_time": "5"}',
            "key 'stopping_wait_time' must be a whole number",
        ),
        ('{"stopping_wait_time": -1}', "key 'stopping_wait_time' must be zero or more"),
        ('{"is_in_place": 1}', "key 'is_in_place' must be true or false"),
        ('{"schedule": "0 0 * * *"}', "settings.job schedule is invalid"),
        ('"text"', "settings.job must be a JSON object, not str."),
        # Stored as jsonb: PostgreSQL refuses NUL, and a lone surrogate is no text.
        (
            '{"a": ["x", "b\\u0000"]}',
            r"settings.job.a\[1\] contains a NUL character",
        ),
        (
            '{"\\udb4a": 1}',
            r"settings.job key '\\udb4a' contains an unpaired surrogate",
        ),
    ],
)
def test_it_refuses_wrongly_typed_settings(text, message):
    with pytest.raises(PackageError, match=message):
        parse_settings(text, kind="triggered")


def test_it_keeps_a_continuous_jobs_schedule_unread_as_kudu_does():
    # Kudu reads `schedule` for triggered jobs only, whatever it holds.
    for text in ('{"schedule": "0 0 0 * * *"}', '{"schedule": "not cron"}'):
        assert parse_settings(text, kind="continuous").raw["schedule"]
    with pytest.raises(PackageError, match="schedule is invalid"):
        parse_settings('{"schedule": "not cron"}', kind="triggered")
