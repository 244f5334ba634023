from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("sign-in/", views.sign_in, name="sign-in"),
    path("sign-out/", views.sign_out, name="sign-out"),
    path("people/", views.people, name="people"),
    path("people/invite/", views.invite, name="invite"),
    path("people/<int:person_id>/roles/", views.edit_roles, name="roles"),
    path("people/invitations/<int:invitation_id>/revoke/", views.revoke_invitation, name="revoke-invitation"),
    path("invitation/<str:token>/", views.accept, name="accept"),
]
