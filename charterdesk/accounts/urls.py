from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("sign-in/", views.sign_in, name="sign-in"),
    path("sign-out/", views.sign_out, name="sign-out"),
    path("sign-in/forgot/", views.forgot_password, name="forgot"),
    path("sign-in/code/", views.sign_in_code, name="sign-in-code"),
    path("account/two-factor/", views.two_factor, name="two-factor"),
    path("people/two-factor/", views.two_factor_roles, name="two-factor-roles"),
    path("sign-in/reset/<str:uid>/<str:token>/", views.reset_password, name="reset"),
    path("sign-in/unlock/<str:uid>/<str:token>/", views.unlock, name="unlock"),
    path("account/", views.account, name="account"),
    path("account/sign-out-others/", views.sign_out_others, name="sign-out-others"),
    path("people/", views.people, name="people"),
    path("people/invite/", views.invite, name="invite"),
    path("people/<int:person_id>/roles/", views.edit_roles, name="roles"),
    path("people/invitations/<int:invitation_id>/revoke/", views.revoke_invitation, name="revoke-invitation"),
    path("invitation/<str:token>/", views.accept, name="accept"),
]
