from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "charterdesk.notifications"
    label = "notifications"
    verbose_name = "Notifications"
