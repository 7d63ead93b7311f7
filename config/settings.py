"""Settings, all read from the environment (see README "Settings").

Defaults give the embedded set-up: SQLite in var/ and django-q2's ORM broker, bound
to loopback. DATABASE_URL and REDIS_URL switch to the scale-out path.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from config.env import (
    database_from_url,
    env_bool,
    env_float,
    env_int,
    env_str,
    secret_key_from_file,
)

BASE_DIR = Path(__file__).resolve().parent.parent

# WEBJOBS_ROOT holds everything the emulator writes: db, packages, logs, secrets.
WEBJOBS_ROOT = Path(env_str("WEBJOBS_ROOT", str(BASE_DIR / "var"))).resolve()

SECRET_KEY = env_str("SECRET_KEY") or secret_key_from_file(WEBJOBS_ROOT / "secret_key")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = [h for h in env_str("ALLOWED_HOSTS", "*").split(",") if h]
HOST = env_str("HOST", "127.0.0.1")
PORT = env_int("PORT", 8000, minimum=1)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_q",
    # Bottom to top, as the layers stand (docs/architecture.md).
    "config.apps.ConfigConfig",
    "history",
    "jobs",
    "scheduler",
    "emulator",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # gunicorn serves no static files; the admin's CSS/JS come through WhiteNoise,
    # straight from the app folders (no collectstatic step to forget).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # ETag + If-None-Match -> 304 on the Kudu list and history routes, as Kudu does.
    "django.middleware.http.ConditionalGetMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "emulator.urls"
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "config" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

DATABASES = {
    "default": database_from_url(
        env_str("DATABASE_URL"), default_sqlite=WEBJOBS_ROOT / "db.sqlite3"
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Several processes (web, queue, run monitors) share one SQLite file: wait for
    # the write lock instead of failing with "database is locked", and start write
    # transactions IMMEDIATE so they never deadlock on a read->write upgrade.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # In tests the database the test runner creates is the one child processes
    # (run monitors, a real qcluster) are told to open, so TEST NAME == NAME.
    DATABASES["default"]["TEST"] = {"NAME": DATABASES["default"]["NAME"]}
else:
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Connections are kept between requests, on SQLite too: django-q2's ORM broker
# calls close_old_connections() twice per enqueue, and with no age each call
# closed the request's connection and the next query opened it again, with its
# PRAGMAs (measured: ~4 ms of a POST .../run's 7 ms of CPU, bench/run_trigger.py).
DATABASES["default"]["CONN_MAX_AGE"] = env_int("CONN_MAX_AGE", 60, minimum=0)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
# UTC and aware datetimes are required; config.checks fails start-up otherwise.
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# No STATIC_ROOT: WhiteNoise serves the apps' static files through the finders.
WHITENOISE_USE_FINDERS = True

# Uploads are streamed to disk by the deploy view itself; this only caps form posts.
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django-q": {"level": env_str("Q_LOG_LEVEL", "WARNING")}},
}

REST_FRAMEWORK = {
    # Basic first: its WWW-Authenticate header is what makes anonymous calls 401.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "jobs.auth.CachedBasicAuthentication",
        "jobs.tokens.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": None,
}

# --- WebJobs (names follow Kudu's app settings) ------------------------------------
WEBJOBS_HISTORY_SIZE = env_int("WEBJOBS_HISTORY_SIZE", 30, minimum=1)
WEBJOBS_IDLE_TIMEOUT = env_float("WEBJOBS_IDLE_TIMEOUT", 120.0, minimum=0)
WEBJOBS_RESTART_TIME = env_float("WEBJOBS_RESTART_TIME", 60.0, minimum=0)
# Continuous jobs: an instance whose host has not heartbeated for this long is gone;
# its singleton leases lapse and its statuses are no longer shown (jobs/host/).
WEBJOBS_LEASE_TIME = env_float("WEBJOBS_LEASE_TIME", 15.0, minimum=1)
WEBJOBS_STOPPED = env_bool("WEBJOBS_STOPPED", False)
WEBJOBS_DISABLE_SCHEDULE = env_bool("WEBJOBS_DISABLE_SCHEDULE", False)
# Limits on untrusted uploads (bytes / entries).
WEBJOBS_MAX_UPLOAD_BYTES = env_int("WEBJOBS_MAX_UPLOAD_BYTES", 100 * 2**20, minimum=1)
WEBJOBS_MAX_UNPACKED_BYTES = env_int(
    "WEBJOBS_MAX_UNPACKED_BYTES", 500 * 2**20, minimum=1
)
WEBJOBS_MAX_FILES = env_int("WEBJOBS_MAX_FILES", 10_000, minimum=1)
# A run's output_log.txt stops growing here, with one truncation line.
WEBJOBS_MAX_LOG_BYTES = env_int("WEBJOBS_MAX_LOG_BYTES", 10 * 2**20, minimum=1024)
# Instance id, as Kudu's WEBSITE_INSTANCE_ID; its first 6 characters label logs.
WEBSITE_INSTANCE_ID = env_str("WEBSITE_INSTANCE_ID") or socket.gethostname()

# --- Scheduler -----------------------------------------------------------------
SCHEDULER_HISTORY_SIZE = env_int("SCHEDULER_HISTORY_SIZE", 30, minimum=1)
# An occurrence found late by more than this (downtime, a clock jump) is not run
# but recorded as Postponed; within it, the latest missed occurrence runs once.
# Kudu's own scheduler runs a schedule up to 10 minutes late.
SCHEDULER_MISFIRE_GRACE = env_float("SCHEDULER_MISFIRE_GRACE", 600.0, minimum=0)
# HTTP actions: Azure's fixed timeout, and how much of a response history keeps.
SCHEDULER_HTTP_TIMEOUT = env_float("SCHEDULER_HTTP_TIMEOUT", 60.0, minimum=1)
SCHEDULER_HISTORY_BODY_BYTES = 2048
# The engine re-sends an action that no queue worker claimed within this time.
SCHEDULER_RESEND_AFTER = env_float("SCHEDULER_RESEND_AFTER", 15.0, minimum=1)
# WebJob actions are handed to the queue this many seconds before they fall due;
# the run's monitor is prepared then and starts the process at the due instant
# (scheduler/actions.py). 0 hands them over at the due instant, like Http ones.
# Half a second: enough for a burst of ~30 fires to be prepared on 2 cores, and
# per-second schedules are prepared between due instants, not on them.
SCHEDULER_LEAD = env_float("SCHEDULER_LEAD", 0.5, minimum=0)
# Launcher processes per instance (jobs/launcher/): a fire goes to the one its
# attempt's id picks. One launcher is a single thread that waits on the
# database for most of a fire's bookkeeping, so more than one can overlap those
# waits. Two is what bench/fire_lateness.py's full runs used; its quick runs
# (BENCH_LAUNCHERS=1, 2, 3) did not show one count clearly better on 2 cores.
WEBJOBS_LAUNCHERS = env_int("WEBJOBS_LAUNCHERS", 2, minimum=1)

# --- django-q2 ------------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
Q_CLUSTER = {
    "name": env_str("WEBJOBS_QUEUE_NAME", "webjobs"),
    "workers": env_int("Q_WORKERS", 2, minimum=1),
    # Tasks only start a run monitor and return within milliseconds (see
    # jobs/runner.py), so these windows never bound how long a run may take.
    "timeout": env_int("Q_TIMEOUT", 60, minimum=1),
    "retry": env_int("Q_RETRY", 120, minimum=2),
    "max_attempts": env_int("Q_MAX_ATTEMPTS", 3, minimum=0),
    "poll": env_float("Q_POLL", 0.05, minimum=0.01),
    # Successful tasks are not kept (-1): the runs, attempts and histories are
    # the record, and django-q2 prunes saved successes with a SELECT ... FOR
    # UPDATE of all of them on every save (measured: ~5 ms of the cluster per
    # fire). Failures are always kept. Q_SAVE_LIMIT=200 keeps the newest 200.
    "save_limit": env_int("Q_SAVE_LIMIT", -1, minimum=-1),
    "ack_failures": True,
    "catch_up": False,
    "label": "Queue",
    "sync": env_bool("Q_SYNC", False),
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

os.environ.setdefault("WEBSITE_INSTANCE_ID", WEBSITE_INSTANCE_ID)
