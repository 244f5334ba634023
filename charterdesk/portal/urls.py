from django.urls import path

from . import views

app_name = "portal"
urlpatterns = [
    path("", views.start, name="start"),
    path("link-sent/", views.link_sent, name="link-sent"),
    path("link/<str:token>/", views.link, name="link"),
    path("sign-out/", views.sign_out, name="sign-out"),
    path("new/", views.new_ticket, name="new"),
    path("new/sent/", views.sent, name="sent"),
    path("tickets/", views.tickets, name="tickets"),
    path("tickets/<int:ticket_id>/", views.ticket, name="ticket"),
    path("attachments/<int:attachment_id>/", views.attachment, name="attachment"),
    path("timezone/", views.set_timezone, name="timezone"),
    path("confirm/<int:message_id>/", views.confirm_sender, name="confirm-sender"),
]
