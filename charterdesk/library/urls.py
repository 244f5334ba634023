from django.urls import path

from . import views

app_name = "library"
urlpatterns = [
    path("", views.library, name="library"),
    path("new/", views.new_draft, name="new"),
    path("validate/", views.validate_draft, name="validate"),
    path("diff/", views.diff, name="diff"),
    path("<int:version_id>/edit/", views.edit_draft, name="edit"),
    path("<int:version_id>/delete/", views.delete_draft, name="delete"),
    path("<int:version_id>/preview/", views.preview, name="preview"),
    path("<int:version_id>/publish/", views.publish, name="publish"),
    path("<int:version_id>/withdraw/", views.withdraw, name="withdraw"),
    path("<int:version_id>/download.<str:fmt>", views.download, name="download"),
]
