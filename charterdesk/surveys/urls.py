from django.urls import path

from . import views

app_name = "surveys"
urlpatterns = [
    path("r/<str:token>/", views.rate, name="rate"),
    path("a/<str:token>/", views.answer, name="answer"),
    path("opt-out/<str:token>/", views.opt_out, name="opt-out"),
    path("mine/", views.mine, name="mine"),
    path("people/<int:person_id>/", views.person, name="person"),
]
