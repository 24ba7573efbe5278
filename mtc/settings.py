"""Django settings for MTC Catalog Imports.

Every value can be set in the environment or in ``.env`` at the project root
(the environment wins); ``.env.example`` and the README list them all. Values
are validated here so that a bad one stops start-up with a clear message.
"""

import os
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from mtc import config

BASE_DIR = Path(__file__).resolve().parent.parent

environ.Env.read_env(BASE_DIR / ".env", overwrite=False)
env = environ.Env()
ENV = os.environ

# --- Core -----------------------------------------------------------------
DEBUG = config.read_bool(ENV, "DEBUG", default=False)
# Required with DEBUG off: start-up stops, naming the key, rather than sign with the public development key.
SECRET_KEY = config.read_secret_key(ENV, "SECRET_KEY", debug=DEBUG)
ALLOWED_HOSTS = config.read_list(ENV, "ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])

INSTALLED_APPS = [
    # Admin modules are discovered in mtc/urls.py, so commands that never load
    # the URLs (import_catalog) do not pay for importing every admin screen.
    "django.contrib.admin.apps.SimpleAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "import_export",
    "catalog",
    "imports",
    # After imports: its qcluster command (a clean stop on a process-group SIGTERM) overrides django-q2's.
    "django_q",
]

MIDDLEWARE = [
    # Outermost: times every request for /metrics (mtc/metrics.py).
    "mtc.metrics.RequestLatencyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files from the web processes themselves (compressed, hashed names cached for a year).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # A background job that ended since the last page: an admin message (imports/notifications.py).
    "imports.middleware.JobNoticeMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Unknown URLs under /api/ answer the API's JSON 404, in DEBUG too.
    "mtc.middleware.ApiNotFoundMiddleware",
]

ROOT_URLCONF = "mtc.urls"
WSGI_APPLICATION = "mtc.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
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

# --- HTTPS (README "Production": `manage.py check --deploy` passes with these set) -----
# HTTPS=true: redirect http to https and send the session and CSRF cookies over https only.
HTTPS = config.read_bool(ENV, "HTTPS", default=False)
SECURE_SSL_REDIRECT = SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
# Behind a proxy that terminates TLS: trust its X-Forwarded-Proto header (only then).
if config.read_bool(ENV, "TRUST_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Strict-Transport-Security: 0 = not sent; production: 31536000 (a year) once https works.
SECURE_HSTS_SECONDS = config.read_non_negative_int(ENV, "SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = config.read_bool(ENV, "SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = config.read_bool(ENV, "SECURE_HSTS_PRELOAD", default=False)
CSRF_TRUSTED_ORIGINS = config.read_list(ENV, "CSRF_TRUSTED_ORIGINS", [])
# Prometheus scrapes the web processes directly, over http, on the internal network.
SECURE_REDIRECT_EXEMPT = [r"^metrics$"]

# --- Database ---------------------------------------------------------------
# Unset DATABASE_URL = an SQLite file in the project (the newcomer's first run).
DATABASES = {"default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server read while the worker writes; IMMEDIATE takes the
    # write lock at BEGIN so two writers queue instead of failing mid-way.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    # Persistent connections: each process keeps one, checked before reuse after a request or task
    # (a restarted database costs one failed check, not a failed request). mtc/capacity.py counts them.
    DATABASES["default"]["CONN_MAX_AGE"] = config.read_non_negative_int(ENV, "DB_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = config.read_bool(ENV, "DB_CONN_HEALTH_CHECKS", default=True)
# What the deployment runs, for the connection plan (mtc/capacity.py, the health check's "connections"):
# gunicorn workers per web machine (gunicorn reads WEB_CONCURRENCY too), web machines, worker machines.
WEB_CONCURRENCY = config.read_positive_int(ENV, "WEB_CONCURRENCY", default=2)
WEB_MACHINES = config.read_positive_int(ENV, "WEB_MACHINES", default=1)
WORKER_MACHINES = config.read_positive_int(ENV, "WORKER_MACHINES", default=1)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth, i18n, static -------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
MEDIA_URL = "media/"
MEDIA_ROOT = Path(ENV.get("MEDIA_ROOT") or BASE_DIR / "var" / "media")
# Uploaded import files (imports/stored_files.py). local: MEDIA_ROOT on this machine's disk, for one
# machine. s3: an S3-compatible bucket every web and worker machine shares (django-storages); without
# it, a worker on another machine than the web server cannot read the uploads.
STORAGE_BACKEND = config.read_choice(ENV, "STORAGE_BACKEND", ("local", "s3"), default="local")
S3_BUCKET = ENV.get("S3_BUCKET", "")
if STORAGE_BACKEND == "s3" and not S3_BUCKET:
    raise ImproperlyConfigured("STORAGE_BACKEND=s3: set S3_BUCKET to the bucket that holds the uploaded files.")
DEFAULT_STORAGE: dict[str, object] = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
if STORAGE_BACKEND == "s3":
    DEFAULT_STORAGE = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            # Unset: AWS itself; set for another S3-compatible service (MinIO, Ceph, a cloud's own).
            "endpoint_url": config.read_http_url(ENV, "S3_ENDPOINT_URL") or None,
            "region_name": ENV.get("S3_REGION") or None,
            # Unset: boto3 finds credentials itself (AWS_* variables, ~/.aws, an instance role).
            "access_key": ENV.get("S3_ACCESS_KEY_ID") or None,
            "secret_key": ENV.get("S3_SECRET_ACCESS_KEY") or None,
            # Private files: never a public ACL, never replaced by an upload of the same name.
            "default_acl": None,
            "file_overwrite": False,
        },
    }
STORAGES = {
    "default": DEFAULT_STORAGE,
    # DEBUG off (production): `collectstatic` (scripts/serve) writes each file under a hashed name with
    # gzip and brotli copies, and whitenoise serves them with a year of caching. DEBUG on (scripts/run):
    # runserver serves the apps' files as they are, no collectstatic needed.
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
LOGIN_URL = "admin:login"

# --- Imports (the migration guide, section 2.2) ---------------------------------
IMPORT_BATCH_SIZE = config.read_positive_int(ENV, "IMPORT_BATCH_SIZE", default=1000)
# Batches of one import written at once, each on its own database connection, committed in file
# order (imports/engine/lanes.py); 1: one batch at a time. PostgreSQL only.
IMPORT_PARALLEL_BATCHES = config.read_positive_int(ENV, "IMPORT_PARALLEL_BATCHES", default=2)
IMPORT_MAX_ROWS = config.read_positive_int(ENV, "IMPORT_MAX_ROWS", default=50000)
IMPORT_TIMEOUT_SECONDS = config.read_positive_int(ENV, "IMPORT_TIMEOUT_SECONDS", default=600)
IMPORT_BACKGROUND_THRESHOLD = config.read_positive_int(ENV, "IMPORT_BACKGROUND_THRESHOLD", default=1000)
# false: batch commits do not wait for the WAL flush (a crash redoes them on resume).
IMPORT_SYNCHRONOUS_COMMIT = config.read_bool(ENV, "IMPORT_SYNCHRONOUS_COMMIT", default=False)
IMPORT_MAX_UPLOAD_MB = config.read_positive_int(ENV, "IMPORT_MAX_UPLOAD_MB", default=100)
# An XLSX sheet whose XML is at most this many MB (uncompressed) and that python-calamine reads as the
# streaming reader would is read whole by calamine (fast, ~3x the XML in memory); a larger one streams
# (imports/engine/xlsx_sheets.py). 0: every sheet streams.
IMPORT_XLSX_IN_MEMORY_MB = config.read_non_negative_int(ENV, "IMPORT_XLSX_IN_MEMORY_MB", default=64)
# The longest description (and any other long-text column) a row may carry, in characters; a longer one
# is that row's problem. At most the readers' field limit (imports/engine/limits.py: 1,048,576).
IMPORT_MAX_DESCRIPTION_LENGTH = config.read_positive_int(
    ENV, "IMPORT_MAX_DESCRIPTION_LENGTH", default=10_000, maximum=1_048_576
)
# A running job nobody has heartbeated for this long is taken over (see imports/services.py).
IMPORT_STALE_SECONDS = config.read_positive_int(ENV, "IMPORT_STALE_SECONDS", default=300)
# How often each worker cluster looks for imports whose worker died (imports/management/commands/qcluster.py).
IMPORT_SWEEP_SECONDS = config.read_positive_int(ENV, "IMPORT_SWEEP_SECONDS", default=10)
# Days an import can be undone: its change journal is removed after that (hourly prune).
IMPORT_UNDO_RETENTION_DAYS = config.read_positive_int(ENV, "IMPORT_UNDO_RETENTION_DAYS", default=30)
# Days the uploaded file of an ended import is kept: deleted after that (daily prune; the job stays).
IMPORT_FILE_RETENTION_DAYS = config.read_positive_int(ENV, "IMPORT_FILE_RETENTION_DAYS", default=30)
# Import creations per user through the API (DRF throttle: N/second|minute|hour|day).
IMPORT_RATE_LIMIT = config.read_rate(ENV, "IMPORT_RATE_LIMIT", default="10/minute")
RATELIMIT_STORAGE_URL = config.read_redis_url(ENV, "RATELIMIT_STORAGE_URL")
REDIS_PROGRESS_EXPIRY = config.read_positive_int(ENV, "REDIS_PROGRESS_EXPIRY", default=86400)

# Alert thresholds (the guide, section 4.2).
IMPORT_ALERT_MIN_SUCCESS_RATE = config.read_fraction_percent(ENV, "IMPORT_ALERT_MIN_SUCCESS_RATE", 95.0)
IMPORT_ALERT_MAX_DURATION_SECONDS = config.read_positive_int(ENV, "IMPORT_ALERT_MAX_DURATION_SECONDS", 600)
IMPORT_ALERT_MAX_ERROR_RATE = config.read_fraction_percent(ENV, "IMPORT_ALERT_MAX_ERROR_RATE", 5.0)

# --- Telling the user a background job ended (imports/notifications.py) ------------------
# Email for jobs that ran longer than this (seconds; 0: every background job).
IMPORT_NOTIFY_AFTER_SECONDS = config.read_non_negative_int(ENV, "IMPORT_NOTIFY_AFTER_SECONDS", default=60)
# Optional: every background job's summary is POSTed here, signed with IMPORT_WEBHOOK_SECRET (HMAC-SHA256).
IMPORT_WEBHOOK_URL = config.read_http_url(ENV, "IMPORT_WEBHOOK_URL")
IMPORT_WEBHOOK_SECRET = ENV.get("IMPORT_WEBHOOK_SECRET", "")
if IMPORT_WEBHOOK_URL and not IMPORT_WEBHOOK_SECRET:
    raise ImproperlyConfigured("IMPORT_WEBHOOK_URL is set: set IMPORT_WEBHOOK_SECRET too (receivers check it).")
# Where the site is reached from outside, for links in emails and webhooks.
SITE_URL = config.read_http_url(ENV, "SITE_URL", default="http://localhost:8000").rstrip("/")
# Email: printed on the console unless EMAIL_HOST names an SMTP server.
EMAIL_HOST = ENV.get("EMAIL_HOST", "")
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_PORT = config.read_positive_int(ENV, "EMAIL_PORT", default=587)
EMAIL_HOST_USER = ENV.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = ENV.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = config.read_bool(ENV, "EMAIL_USE_TLS", default=True)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = ENV.get("DEFAULT_FROM_EMAIL", "imports@localhost")

DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- The migration's rollout kit (imports/rollout/) ------------------------------
# The legacy LOCK TABLE importer, the USE_NEW_IMPORT_SYSTEM flag that routes users
# to it, the comparison, per-importer metrics and health checks. The guide's
# phase 5 deletes imports/rollout/ and this block (after `migrate rollout zero`).
INSTALLED_APPS.append("imports.rollout")
# Checked when the app starts (imports/rollout/routing.py): false, true, test_users_only, percentage:N.
# Unset = true: a fresh install gets the new importer; the rollout sets each phase explicitly.
USE_NEW_IMPORT_SYSTEM = ENV.get("USE_NEW_IMPORT_SYSTEM") or "true"
IMPORT_TEST_USER_IDS = config.read_int_list(ENV, "IMPORT_TEST_USER_IDS")
IMPORT_TEST_USERS_GROUP = ENV.get("IMPORT_TEST_USERS_GROUP", "import-test-users")

# --- Cache (DRF throttling, progress fallback) ---------------------------------
# Without Redis, and while a configured Redis fails (mtc/cache.py, one WARNING per process
# per minute, never a 500), the "fallback" cache is used: a table in the database, so the
# import rate limit holds across every web process and server (created by imports' migration
# 0007, and by createcachetable). "local" is per-process memory, for django-q2's own cluster
# status (the health check reads WorkerHeartbeat rows instead).
CACHE_TABLE = "mtc_cache"
CACHES: dict[str, dict[str, object]] = {
    "fallback": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": CACHE_TABLE},
    "local": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "local"},
}
if RATELIMIT_STORAGE_URL:
    CACHES["default"] = {
        "BACKEND": "mtc.cache.RedisCacheWithFallback",
        "LOCATION": RATELIMIT_STORAGE_URL,
        "OPTIONS": {"FALLBACK": "fallback"},
    }
else:
    CACHES["default"] = CACHES["fallback"]

# --- Background worker (django-q2) -----------------------------------------------
# The ORM broker needs nothing beyond the database; set QUEUE_REDIS_URL to use Redis.
QUEUE_REDIS_URL = config.read_redis_url(ENV, "QUEUE_REDIS_URL")
Q_CLUSTER = {
    "name": "mtc-imports",
    "workers": config.read_positive_int(ENV, "QUEUE_WORKERS", default=2),
    "timeout": IMPORT_TIMEOUT_SECONDS + 60,
    # The broker re-delivers a task only after the worker had every chance to finish it.
    "retry": IMPORT_TIMEOUT_SECONDS + 120,
    "max_attempts": 3,
    "catch_up": False,
    "save_limit": 1000,
    "label": "Background imports",
    "cache": "local",
}
if QUEUE_REDIS_URL:
    Q_CLUSTER["redis"] = QUEUE_REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# --- API ------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "mtc.pagination.Pages",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    # Every error answer is {"detail", "code", ...}; domain errors are mapped to HTTP there.
    "EXCEPTION_HANDLER": "mtc.api_errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "MTC Catalog Imports API",
    "DESCRIPTION": "Import catalog spreadsheets and read the item, color, size and variant masters.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Two fields are named "source": where a job came from, and where its progress was read.
    "ENUM_NAME_OVERRIDES": {
        "ImportSourceEnum": "imports.models.ImportSource",
        "ProgressSourceEnum": ["redis", "database"],
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "mtc.openapi.add_error_responses",
    ],
}

# --- Operations ---------------------------------------------------------------------
# /metrics (Prometheus): off (404) while unset; a scrape sends "Authorization: Bearer <token>".
METRICS_TOKEN = ENV.get("METRICS_TOKEN", "")

# text: one readable line (scripts/run); json: one JSON object a line, with the bound fields of the
# job being run (import_id, kind, system, worker, user: mtc/logs.py), for a log collector.
LOG_FORMAT = config.read_choice(ENV, "LOG_FORMAT", ("text", "json"), default="text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "mtc.logs.ContextFilter"}},
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["context"]}},
    "root": {"handlers": ["console"], "level": ENV.get("LOG_LEVEL", "INFO")},
    # The worker's console is for requests and imports: django-q2's INFO lines ("created task
    # ... from schedule", "processed ...") came twice a minute for the heartbeat and the
    # sweeper. Its warnings and errors still show; the imports log their own INFO lines.
    "loggers": {"django-q": {"level": "WARNING"}},
}
