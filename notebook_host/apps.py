"""App config: registers system checks and the registered notebooks' signals."""

from django.apps import AppConfig


class NotebookHostConfig(AppConfig):
    name = "notebook_host"
    verbose_name = "Notebooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported once the models are ready (Django app loading).
        from . import checks  # noqa: F401 - registers the system checks
        from .runtime.registered_sync import connect_signals  # registered rows, targets' news
        from .signout import connect as connect_signout  # a receiver of user_logged_out
        from .workers import checks as cluster_checks  # noqa: F401 - registers its checks
        from .workers import settings  # noqa: F401 - registers the KERNELS checks

        connect_signals()
        connect_signout()
