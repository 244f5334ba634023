from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "charterdesk.audit"
    label = "audit"
    verbose_name = "Audit log"
