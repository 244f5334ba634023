from django.apps import AppConfig


class WorkerConfig(AppConfig):
    name = "charterdesk.worker"
    label = "worker"
    verbose_name = "Worker"
