"""Settings of the demo project that serves notebooks/ with notebook_host."""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from notebook_host.cache_headers import add_headers

BASE_DIR = Path(__file__).resolve().parent.parent

# Off unless asked for (DJANGO_DEBUG=1): a debug page shows settings and code.
DEBUG = os.environ.get("DJANGO_DEBUG", "0") == "1"
# A real key always, except in a debug run: owner keys and sessions are HMACs of it.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "Set DJANGO_SECRET_KEY (make serve makes one in .demo-secret-key), "
            "or DJANGO_DEBUG=1 for a development run with a fixed insecure key."
        )
    SECRET_KEY = "demo-only-insecure-secret-key"
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")
CSRF_TRUSTED_ORIGINS = [
    o for o in os.environ.get("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",") if o
]

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "servestatic",  # its system checks
    "channels",
    "notebook_host",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files (marimo's frontend included) before sessions and auth:
    # no session lookup or database query per asset.
    "servestatic.middleware.ServeStaticMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "project.urls"
ASGI_APPLICATION = "project.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "project" / "templates"],
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

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("DJANGO_SQLITE_PATH", BASE_DIR / "db.sqlite3"),
    }
}

AUTH_PASSWORD_VALIDATORS = []
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT", BASE_DIR / "staticfiles"))
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    # marimo's frontend under STATIC_URL/marimo/<version>/, shared by all notebooks.
    "notebook_host.finders.MarimoAssetsFinder",
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "servestatic.storage.CompressedStaticFilesStorage"},
}
# marimo's files are versioned by their marimo/<version>/ prefix: cache forever.
SERVESTATIC_ADD_HEADERS_FUNCTION = add_headers
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"
SESSION_COOKIE_SAMESITE = "Lax"

# Uploaded notebooks (admin) go to MEDIA_ROOT/notebooks/.
MEDIA_ROOT = Path(os.environ.get("DJANGO_MEDIA_ROOT", BASE_DIR / "media"))

NOTEBOOK_HOST = {
    "DEFAULT_ACCESS": "login",
    "SESSION_TTL": 120,
    # Admin-registered notebooks may name files in these folders.
    "ALLOWED_DIRS": [BASE_DIR / "notebooks"],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"notebook_host": {"handlers": ["console"], "level": "INFO", "propagate": False}},
}
