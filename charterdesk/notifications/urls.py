from django.urls import path

from . import views

app_name = "notifications"
urlpatterns = [
    path("", views.inbox, name="list"),
    path("read-all/", views.read_all, name="read-all"),
    path("<int:notification_id>/read/", views.read_one, name="read"),
    path("<int:notification_id>/open/", views.open_one, name="open"),
]
