from django.urls import path

from . import views

app_name = "whatif"
urlpatterns = [
    path("draft/<int:version_id>/", views.draft_page, name="draft"),
    path("<int:run_id>/", views.run_page, name="run"),
    path("<int:run_id>/progress/", views.progress, name="progress"),
    path("<int:run_id>/ticket/<str:ticket>/", views.sample, name="sample"),
]
