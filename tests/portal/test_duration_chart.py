"""The dashboard's duration chart, a pure function: plain rows in, SVG out."""

from __future__ import annotations

import re

from core.charts import Bar, Row, duration_chart, duration_text


def heights(svg: str) -> list[int]:
    return [
        int(h) for h in re.findall(r'<rect class="bar[^"]*"[^>]*height="(\d+)"', svg)
    ]


def test_it_scales_each_row_to_its_longest_run():
    svg = duration_chart(
        [
            Row("fast", [Bar(0.5, "Success", "a"), Bar(1.0, "Failed", "b")]),
            Row("slow", [Bar(300, "Success", "c"), Bar(600, "Aborted", "d")]),
        ]
    )
    assert heights(svg) == [12, 24, 12, 24]
    assert 'class="bar status-failed"' in svg and 'class="bar status-aborted"' in svg
    assert "max 1.0 s" in svg and "max 10 min 0 s" in svg


def test_it_puts_the_newest_run_at_the_right_edge():
    svg = duration_chart([Row("one", [Bar(1, "Success", "only")])], slots=30)
    assert re.search(r'<rect class="bar status-success" x="(\d+)"', svg).group(
        1
    ) == str(200 + 29 * 16)


def test_it_keeps_tiny_runs_visible_and_links_bars_to_runs():
    svg = duration_chart(
        [Row("j", [Bar(0.0, "Success", "t", "/run/1"), Bar(10, "Running", "u")])]
    )
    assert heights(svg) == [2, 24]
    assert '<a href="/run/1"><rect' in svg


def test_it_escapes_names_and_shortens_long_ones():
    name = "<script>" + "x" * 40
    svg = duration_chart([Row(name, [])])
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg and "…" in svg and "no runs yet" in svg


def test_it_says_when_there_is_nothing_to_draw():
    assert "No runs yet." in duration_chart([])


def test_it_writes_durations_for_people():
    assert [duration_text(s) for s in (0.0421, 12.34, 245, 7380)] == [
        "42 ms",
        "12.3 s",
        "4 min 5 s",
        "2 h 3 min",
    ]
