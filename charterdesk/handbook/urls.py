from django.urls import path

from . import views

app_name = "handbook"
urlpatterns = [path("", views.index, name="index")]
