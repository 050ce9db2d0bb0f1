from django.apps import AppConfig


class NotebookHostConfig(AppConfig):
    name = "notebook_host"
    verbose_name = "Notebooks"
    default_auto_field = "django.db.models.BigAutoField"
