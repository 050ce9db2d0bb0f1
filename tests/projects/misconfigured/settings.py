from tests.projects.default.settings import *  # noqa: F403

ROOT_URLCONF = "tests.projects.misconfigured.urls"
