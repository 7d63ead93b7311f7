"""The flags of `manage.py schedule create` and `preview`, and the ARM JSON
they stand for: the command parses them into the same body a client PUTs
(scheduler/arm.py), which the services validate."""

from __future__ import annotations

import argparse
import json
from typing import Any

from django.core.management.base import CommandError

from core.recurrence import FREQUENCIES

ERR_RECURRENCE_BOTH = (
    "--recurrence-json cannot be combined with {flags}; put everything in the JSON."
)
ERR_RETRY_NONE_COUNT = (
    "--retry-interval none turns retries off; it cannot be combined with --retry-count."
)
ERR_INT_LIST = "{value!r} is not a comma-separated list of whole numbers, e.g. 0,30."
ERR_NAME_LIST = "{value!r} is not a comma-separated list of names, e.g. Monday,Friday."
ERR_OCCURRENCES = (
    "{value!r} is not a list of DAY:OCCURRENCE, e.g. Friday:-1,Monday:1 "
    "(DAY alone means every such day of the month)."
)
ERR_HEADER = "{value!r} is not a header; use NAME:VALUE, e.g. Content-Type:text/plain."
ERR_JSON = "not valid JSON ({detail})"
ERR_POSITIVE = "{value!r} is not a whole number of at least 1."
ERR_QUEUE_ADDRESS = (
    "{value!r} is not a queue address; use ACCOUNT/QUEUE, e.g. devstoreaccount1/orders."
)
ERR_QUEUE_FLAG = "{flag} is required with {queue_flag} ({what})."
ERR_QUEUE_ONLY = "{flags}: only with --queue (or --error-queue, for the error action)."
_QUEUE_NEEDS = {
    "message": "the text the Scheduler puts in the message's <Message> element",
    "sas_token": "a shared access signature of the queue that may add messages",
}


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(ERR_POSITIVE.format(value=text))
    return value


def _int_list(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(ERR_INT_LIST.format(value=text)) from None


def _name_list(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(ERR_NAME_LIST.format(value=text))
    return names


def _monthly_occurrences(text: str) -> list[dict[str, Any]]:
    """``Friday:-1,Monday:1`` -> ``[{"day": "Friday", "occurrence": -1}, ...]``."""
    items = []
    for part in text.split(","):
        day, sep, number = part.strip().partition(":")
        if not day:
            raise argparse.ArgumentTypeError(ERR_OCCURRENCES.format(value=text))
        if not sep:
            items.append({"day": day})
            continue
        try:
            items.append({"day": day, "occurrence": int(number)})
        except ValueError:
            raise argparse.ArgumentTypeError(
                ERR_OCCURRENCES.format(value=text)
            ) from None
    return items


def _header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(ERR_HEADER.format(value=text))
    return name.strip(), value.strip()


def _queue_address(text: str) -> tuple[str, str]:
    """``devstoreaccount1/orders`` -> ``("devstoreaccount1", "orders")``; the
    names themselves are checked by the action's validator."""
    account, sep, queue = text.partition("/")
    if not sep or not account or not queue or "/" in queue:
        raise argparse.ArgumentTypeError(ERR_QUEUE_ADDRESS.format(value=text))
    return account, queue


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:  # 5,000-digit numbers too
        raise argparse.ArgumentTypeError(ERR_JSON.format(detail=exc)) from None


def recurrence_parser() -> argparse.ArgumentParser:
    """Flags shared by create and preview, named after the ARM JSON properties."""
    timing = argparse.ArgumentParser(add_help=False)
    timing.add_argument(
        "--start-time",
        metavar="ISO",
        help="properties.startTime, e.g. 2031-03-01T09:00:00Z",
    )
    timing.add_argument("--frequency", type=str.capitalize, choices=FREQUENCIES)
    timing.add_argument("--interval", type=int, metavar="N")
    timing.add_argument(
        "--count", type=int, metavar="N", help="runs before the job completes"
    )
    timing.add_argument(
        "--end-time", metavar="ISO", help="the job completes after this instant"
    )
    timing.add_argument("--minutes", type=_int_list, metavar="0,30")
    timing.add_argument("--hours", type=_int_list, metavar="9,17")
    timing.add_argument("--week-days", type=_name_list, metavar="Monday,Friday")
    timing.add_argument("--month-days", type=_int_list, metavar="1,-1")
    timing.add_argument(
        "--monthly-occurrences", type=_monthly_occurrences, metavar="Friday:-1,Monday:1"
    )
    timing.add_argument(
        "--recurrence-json",
        type=_json,
        metavar="JSON",
        help='the whole properties.recurrence, e.g. \'{"frequency": "Day"}\'',
    )
    return timing


def add_action_arguments(parser) -> None:
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument(
        "--action-url", metavar="URL", help="an Http(s) action calling this URL"
    )
    what.add_argument(
        "--webjob", metavar="NAME", help="a WebJob action running this triggered WebJob"
    )
    what.add_argument(
        "--queue",
        type=_queue_address,
        metavar="ACCOUNT/QUEUE",
        help="a StorageQueue action putting --message on this storage queue",
    )
    parser.add_argument(
        "--message", help="the StorageQueue action's message (its <Message> text)"
    )
    parser.add_argument(
        "--sas-token",
        metavar="SAS",
        help="shared access signature of the queue, allowed to add (sp=a)",
    )
    parser.add_argument(
        "--error-queue",
        type=_queue_address,
        metavar="ACCOUNT/QUEUE",
        help="error action: put the message on this queue (a poison queue) once the "
        "retries are spent",
    )
    parser.add_argument(
        "--error-message", help="the error action's message (default: --message)"
    )
    parser.add_argument(
        "--error-sas-token",
        metavar="SAS",
        help="SAS of the error queue (default: --sas-token)",
    )
    parser.add_argument("--method", help="HTTP method (default GET)")
    parser.add_argument("--body", help="HTTP request body")
    parser.add_argument(
        "--header",
        type=_header,
        action="append",
        default=[],
        metavar="NAME:VALUE",
        help="HTTP request header (repeatable)",
    )
    parser.add_argument(
        "--arguments",
        default="",
        help="the WebJob's arguments (--arguments=-x for a leading -)",
    )
    parser.add_argument(
        "--retry-count",
        type=int,
        metavar="N",
        help="retries after a failure (default 4)",
    )
    parser.add_argument(
        "--retry-interval",
        metavar="PT30S|none",
        help="time between retries (default PT30S); none: no retry",
    )


_RECURRENCE_FLAGS = (
    "frequency",
    "interval",
    "count",
    "end_time",
    "minutes",
    "hours",
    "week_days",
    "month_days",
    "monthly_occurrences",
)


def recurrence_json(options: dict[str, Any]) -> Any:
    """properties.recurrence from the flags, or None for a one-time job."""
    given = [flag for flag in _RECURRENCE_FLAGS if options.get(flag) is not None]
    if options.get("recurrence_json") is not None:
        if given:
            flags = ", ".join("--" + flag.replace("_", "-") for flag in given)
            raise CommandError(ERR_RECURRENCE_BOTH.format(flags=flags))
        return options["recurrence_json"]
    if not given:
        return None
    recurrence = {
        key: options[flag]
        for key, flag in (
            ("frequency", "frequency"),
            ("interval", "interval"),
            ("count", "count"),
            ("endTime", "end_time"),
        )
        if options[flag] is not None
    }
    schedule = {
        key: options[flag]
        for key, flag in (
            ("minutes", "minutes"),
            ("hours", "hours"),
            ("weekDays", "week_days"),
            ("monthDays", "month_days"),
            ("monthlyOccurrences", "monthly_occurrences"),
        )
        if options[flag] is not None
    }
    if schedule:
        recurrence["schedule"] = schedule
    return recurrence


def action_json(options: dict[str, Any]) -> dict[str, Any]:
    if options["webjob"]:
        action: dict[str, Any] = {
            "type": "WebJob",
            "webJob": {"name": options["webjob"], "arguments": options["arguments"]},
        }
    elif options.get("queue"):
        action = {
            "type": "StorageQueue",
            "queueMessage": _queue_message(
                options["queue"], options["message"], options["sas_token"], "--"
            ),
        }
    else:
        url = options["action_url"]
        request: dict[str, Any] = {"uri": url, "headers": dict(options["header"])}
        if options["method"]:
            request["method"] = options["method"]
        if options["body"] is not None:
            request["body"] = options["body"]
        kind = "Https" if url.lower().startswith("https:") else "Http"
        action = {"type": kind, "request": request}
    policy = _retry_policy(options["retry_count"], options["retry_interval"])
    if policy is not None:
        action["retryPolicy"] = policy
    if options.get("error_queue"):
        message = options.get("error_message")
        token = options.get("error_sas_token")
        action["errorAction"] = {
            "type": "StorageQueue",
            "queueMessage": _queue_message(
                options["error_queue"],
                options.get("message") if message is None else message,
                token or options.get("sas_token"),
                "--error-",
            ),
        }
    _check_queue_flags(options)
    return action


def _queue_message(
    address: tuple[str, str], message: str | None, token: str | None, prefix: str
) -> dict[str, str]:
    for flag, value in (("message", message), ("sas_token", token)):
        if value is None:
            raise CommandError(
                ERR_QUEUE_FLAG.format(
                    flag=prefix + flag.replace("_", "-"),
                    queue_flag=f"{prefix}queue",
                    what=_QUEUE_NEEDS[flag],
                )
            )
    account, queue = address
    return {
        "storageAccount": account,
        "queueName": queue,
        "sasToken": token,
        "message": message,
    }


def _check_queue_flags(options: dict[str, Any]) -> None:
    """Queue flags without a queue would be silently dropped: refuse them."""
    stray = []
    if not options.get("queue") and not options.get("error_queue"):
        stray += [f for f in ("message", "sas_token") if options.get(f) is not None]
    if not options.get("error_queue"):
        stray += [
            f
            for f in ("error_message", "error_sas_token")
            if options.get(f) is not None
        ]
    if stray:
        flags = ", ".join("--" + flag.replace("_", "-") for flag in stray)
        raise CommandError(ERR_QUEUE_ONLY.format(flags=flags))


def _retry_policy(count: int | None, interval: str | None) -> dict[str, Any] | None:
    if interval is not None and interval.lower() == "none":
        if count is not None:
            raise CommandError(ERR_RETRY_NONE_COUNT)
        return {"retryType": "None"}
    if count is None and interval is None:
        return None  # Azure's default: 4 retries, 30 s apart
    policy: dict[str, Any] = {"retryType": "Fixed"}
    if interval is not None:
        policy["retryInterval"] = interval
    if count is not None:
        policy["retryCount"] = count
    return policy
