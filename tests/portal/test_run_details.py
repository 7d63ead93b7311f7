"""Run details: status, times, exit code, the output inline (Toggle output), the
Download link, and the JSON the live view polls (log from a byte offset)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from history.logs import PIECE_BYTES
from history.models import Run

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def run(api) -> Run:
    api.deploy_fixture("hello", "hello.sh")
    body = api.run_and_wait("hello")
    return Run.objects.get(run_id=body["id"])


def test_it_shows_a_finished_run_with_its_output_and_download(portal, run):
    page = portal.get(reverse("admin:history_run_change", args=[run.pk]))
    text = page.content.decode()
    assert 'class="status-pill status-success" data-status="Success">Success<' in text
    assert '<span data-live="exit_code">0</span>' in text
    assert ">Toggle output</button>" in text
    download = f"/vfs/data/jobs/triggered/hello/{run.run_id}/output_log.txt?download=1"
    assert f'href="{download}" download>Download</a>' in text
    assert 'data-active="0"' in text  # nothing left to follow
    assert "hello from hello run" in text


def test_it_serves_the_log_from_a_byte_offset_for_the_live_view(portal, run):
    url = reverse("admin:history_run_log", args=[run.pk])
    whole = portal.get(url, {"offset": 0}).json()
    assert whole["status"] == "Success" and whole["active"] is False
    assert "hello from hello run" in whole["text"]
    assert whole["offset"] == whole["size"] == run.output_path.stat().st_size
    assert whole["exit_code"] == "0"
    rest = portal.get(url, {"offset": 10}).json()
    assert rest["text"] == whole["text"][10:]
    assert portal.get(url, {"offset": whole["size"]}).json()["text"] == ""


def test_it_never_splits_a_character_between_two_polls(portal, run):
    run.output_path.write_bytes("naïve ☃\n".encode())
    url = reverse("admin:history_run_log", args=[run.pk])
    inside = len("naïve ".encode()) + 1  # inside the three bytes of the snowman
    assert portal.get(url, {"offset": inside}).json()["text"] == "\n"
    assert portal.get(url, {"offset": 3}).json()["text"] == "ve ☃\n"  # mid-ï


def test_it_shows_the_tail_of_a_long_log(portal, run):
    lines = [f"line {i:06d} " + "x" * 90 for i in range(4000)]
    run.output_path.write_text("\n".join(lines) + "\n")
    text = portal.get(reverse("admin:history_run_change", args=[run.pk])).content
    skipped = run.output_path.stat().st_size - PIECE_BYTES
    assert (
        f"The first {skipped} bytes of this log are not shown here; download the "
        "whole log."
    ).encode() in text
    assert b"line 003999" in text and b"line 000000" not in text
