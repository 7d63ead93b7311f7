"""Settings, all read from the environment (see README "Settings").

Defaults give the embedded set-up: SQLite in var/ and django-q2's ORM broker, bound
to loopback. DATABASE_URL and REDIS_URL switch to the scale-out path.
"""

from __future__ import annotations

import os
import socket
from datetime import timedelta
from pathlib import Path

from config import web
from config.env import (
    EnvError,
    database_from_url,
    env_app_settings,
    env_bool,
    env_choice,
    env_float,
    env_float_list,
    env_int,
    env_parsed,
    env_run_as,
    env_site_name,
    env_str,
    env_time_zone,
    secret_key_from_file,
)
from core.storage_queue import ENCODINGS, parse_azurite_accounts, storage_accounts

BASE_DIR = Path(__file__).resolve().parent.parent

# WEBJOBS_ROOT holds everything the emulator writes: db, packages, logs, secrets.
WEBJOBS_ROOT = Path(env_str("WEBJOBS_ROOT", str(BASE_DIR / "var"))).resolve()

SECRET_KEY = env_str("SECRET_KEY") or secret_key_from_file(WEBJOBS_ROOT / "secret_key")
DEBUG = env_bool("DEBUG", False)
HOST = env_str("HOST", "127.0.0.1")
# The Host header decides the URLs the APIs answer (Location, output_url): only
# the loopback names and the bound host by default; ALLOWED_HOSTS adds more
# (comma-separated, Django's syntax: .example.com, or * for any).
ALLOWED_HOSTS = [
    "localhost",
    "127.0.0.1",
    "[::1]",
    *([HOST] if HOST not in ("0.0.0.0", "::", "") else []),
    *(h.strip() for h in env_str("ALLOWED_HOSTS").split(",") if h.strip()),
]
# Behind a TLS proxy that says so (X-Forwarded-Proto: https), requests count as
# HTTPS; only set it when that proxy always sets or strips the header.
if env_bool("WEBJOBS_BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
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
    "axes",
    "drf_spectacular",
    # Bottom to top, as the layers stand (docs/architecture.md).
    "config.apps.ConfigConfig",
    "history",
    "jobs",
    "scheduler",
    "emulator",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Any request keeps the instance awake when Always On is off (jobs/alwayson.py).
    "jobs.middleware.InstanceActivityMiddleware",
    # Session and CSRF cookies are Secure on a request that came over HTTPS
    # (above the middlewares that set them: it sees their responses after them).
    "config.middleware.secure_cookies",
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
    # Repeated wrong passwords lock out (the portal's login; jobs/auth.py for
    # the APIs' Basic auth).
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out login
    "django.contrib.auth.backends.ModelBackend",
]
# Failed logins per user name and address before a lock-out, and for how long.
AXES_FAILURE_LIMIT = env_int("WEBJOBS_LOGIN_FAILURES", 10, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("WEBJOBS_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
# The lock-out answer in the API family's shape (Kudu's text, ARM's JSON).
AXES_LOCKOUT_CALLABLE = "emulator.errors.lockout"

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
    if not env_bool("WEBJOBS_DB_PREPARE", True):
        # Behind a pooler that cannot carry prepared statements: none
        # (config/postgresql/base.py prepares the run path's statements).
        DATABASES["default"]["OPTIONS"] = {"prepare_threshold": None}
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
    "loggers": {
        "django-q": {"level": env_str("Q_LOG_LEVEL", "WARNING")},
        "axes": {"level": "WARNING"},
        # The Azure clients (StorageQueue actions) log every request's headers
        # at INFO: a dozen lines per send.
        "azure": {"level": env_str("AZURE_LOG_LEVEL", "WARNING")},
    },
}

REST_FRAMEWORK = {
    # Basic first: its WWW-Authenticate header is what makes anonymous calls 401.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "jobs.auth.CachedBasicAuthentication",
        "jobs.tokens.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Every view declares what each method needs (Django model permissions);
    # a method it says nothing about is refused.
    "DEFAULT_PERMISSION_CLASSES": ["config.permissions.ApiPermission"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": None,
    # Refusals no view maps (405, a lock-out's 429) in their API family's shape.
    "EXCEPTION_HANDLER": "emulator.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
# GET /api/openapi.json (emulator/openapi/): drf-spectacular finds the routes,
# the hook writes in what each operation takes and answers.
SPECTACULAR_SETTINGS = {
    "TITLE": "WebJobs & Scheduler emulator",
    "DESCRIPTION": (
        "Kudu's WebJobs REST API, ARM Microsoft.Scheduler and Microsoft.Web "
        "WebJobs routes, and the emulator's own API."
    ),
    "VERSION": "1",
    "POSTPROCESSING_HOOKS": ["emulator.openapi.hooks.describe"],
    "DISABLE_ERRORS_AND_WARNINGS": True,  # APIViews: the hook describes them
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
# Who a job's process runs as (docs/behaviour.md): `nobody` when the emulator
# is root, so a job cannot read the emulator's files; its uid/gid when that is a
# switch (jobs/processes.py), else None.
WEBJOBS_RUN_AS, WEBJOBS_RUN_AS_IDS = env_run_as("WEBJOBS_RUN_AS")
# App Service's application settings: what jobs see besides Kudu's variables
# (nothing of the emulator's own environment reaches a job: jobs/environment.py).
WEBJOBS_APP_SETTINGS = env_app_settings("WEBJOBS_APP_SETTINGS")
# Instance id, as Kudu's WEBSITE_INSTANCE_ID; its first 6 characters label logs.
WEBSITE_INSTANCE_ID = env_str("WEBSITE_INSTANCE_ID") or socket.gethostname()

# --- The App Service site the emulator is (App Service's own variable names) -------
# The one site of the ARM Microsoft.Web routes; another name answers ARM's 404.
WEBSITE_SITE_NAME = env_site_name("WEBSITE_SITE_NAME", "webjobs-emulator")
# The ARM envelope's `location` (ARM passes it to Kudu as x-ms-geo-location).
REGION_NAME = env_str("REGION_NAME", "Local")
# settings.job schedules are read in this zone (a Windows zone id or an IANA name,
# kept here as the IANA name; "" is UTC). A name that is neither stops start-up.
WEBSITE_TIME_ZONE = env_time_zone("WEBSITE_TIME_ZONE")
# Always On. Off: an instance that saw no request for WEBJOBS_SITE_IDLE_TIME
# seconds stops its continuous jobs and scheduled WebJob fires until the next one.
WEBSITE_ALWAYS_ON = env_bool("WEBSITE_ALWAYS_ON", True)
WEBJOBS_SITE_IDLE_TIME = env_float("WEBJOBS_SITE_IDLE_TIME", 1200.0, minimum=1)
# TriggeredJobFinished web hooks: a failed POST is tried again after each of
# these delays (seconds), through django-q2 schedules, then given up.
WEBJOBS_HOOK_RETRY_DELAYS = env_float_list(
    "WEBJOBS_HOOK_RETRY_DELAYS", (10.0, 60.0, 300.0, 1800.0), minimum=1, most=20
)
WEBJOBS_HOOK_TIMEOUT = env_float("WEBJOBS_HOOK_TIMEOUT", 10.0, minimum=1)

# --- Scheduler -----------------------------------------------------------------
SCHEDULER_HISTORY_SIZE = env_int("SCHEDULER_HISTORY_SIZE", 30, minimum=1)
# An occurrence found late by more than this (downtime, a clock jump) is not run
# but recorded as Postponed; within it, the latest missed occurrence runs once.
# Kudu's own scheduler runs a schedule up to 10 minutes late.
SCHEDULER_MISFIRE_GRACE = env_float("SCHEDULER_MISFIRE_GRACE", 600.0, minimum=0)
# HTTP actions: Azure's fixed timeout (a total deadline for the call, connect and
# every read included), and how much of a response history keeps.
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
# gunicorn's workers and threads in runinstance (config/web.py says why one
# worker per two cores is the default).
WEB_WORKERS = env_int(
    "WEBJOBS_WEB_WORKERS",
    web.default_workers(),
    minimum=1,
    maximum=web.MAX_WORKERS,
)
WEB_THREADS = env_int(
    "WEBJOBS_WEB_THREADS", web.THREADS, minimum=1, maximum=web.MAX_THREADS
)

# --- Storage queue actions (scheduler/queues.py) ----------------------------------
# Every storage account is served by the local Azurite's queue service
# (http://127.0.0.1:AZURITE_QUEUE_PORT/<account>), unless this JSON object maps
# its name to a connection string (a real account, another emulator); only the
# string's endpoint is used, the action's sasToken authenticates.
SCHEDULER_STORAGE_ACCOUNTS = env_parsed(
    "SCHEDULER_STORAGE_ACCOUNTS", storage_accounts, default={}
)
# base64 of the XML (what the real service stored, and what queue triggers
# decode by default) or none (the XML as text).
SCHEDULER_STORAGE_QUEUE_ENCODING = env_choice(
    "SCHEDULER_STORAGE_QUEUE_ENCODING", "base64", ENCODINGS
)
# runinstance starts Azurite's queue service when AZURITE is on (data in
# WEBJOBS_ROOT/azurite); AZURITE_ACCOUNTS is Azurite's own list of extra
# accounts (NAME:KEY[:KEY2];...), devstoreaccount1 is always kept.
AZURITE = env_bool("AZURITE", False)
AZURITE_QUEUE_PORT = env_int("AZURITE_QUEUE_PORT", 10001, minimum=1, maximum=65535)
AZURITE_ACCOUNTS = env_parsed("AZURITE_ACCOUNTS", parse_azurite_accounts, default={})

# --- django-q2 ------------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
Q_CLUSTER = {
    "name": env_str("WEBJOBS_QUEUE_NAME", "webjobs"),
    "workers": env_int("Q_WORKERS", 2, minimum=1),
    # Tasks only start a run monitor and return within milliseconds (see
    # jobs/runner.py), so these windows never bound how long a run may take.
    # An Http action's task lasts its call: SCHEDULER_HTTP_TIMEOUT (60 s, a total
    # deadline) must end well inside `timeout`, or the cluster kills the worker
    # mid-call (config/checks.py warns). `retry` must exceed `timeout`.
    "timeout": env_int("Q_TIMEOUT", 120, minimum=1),
    "retry": env_int("Q_RETRY", 180, minimum=2),
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
# Seconds a StorageQueue send may take to connect, and to be answered; never
# retried by the client (the job's retry policy retries), so one send is bounded
# by this. 10 s, or a third of Q_TIMEOUT when that is shorter.
SCHEDULER_STORAGE_QUEUE_TIMEOUT = env_float(
    "SCHEDULER_STORAGE_QUEUE_TIMEOUT", min(10.0, Q_CLUSTER["timeout"] / 3), minimum=1
)
if 3 * SCHEDULER_STORAGE_QUEUE_TIMEOUT > Q_CLUSTER["timeout"]:
    # A send connects then waits for its answer, each within the timeout; the
    # task must end well inside the queue's own timeout, never be killed by it.
    raise EnvError(
        f"SCHEDULER_STORAGE_QUEUE_TIMEOUT ({SCHEDULER_STORAGE_QUEUE_TIMEOUT:g}) must "
        f"be at most a third of Q_TIMEOUT ({Q_CLUSTER['timeout']})."
    )
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

os.environ.setdefault("WEBSITE_INSTANCE_ID", WEBSITE_INSTANCE_ID)
