from django.urls import path

from . import views

app_name = "reports"
urlpatterns = [
    path("", views.index, name="index"),
    path("schedule/", views.schedule, name="schedule"),
    path("schedule/<int:index>/preview/", views.preview, name="preview"),
    path("schedule/<int:index>/send/", views.send_now, name="send-now"),
    path("<str:table>.csv", views.csv_table, name="csv"),
]
