from django.urls import path

from . import embed, views

app_name = "channels"
urlpatterns = [
    path("", views.index, name="index"),
    path("quarantine/", views.quarantine, name="quarantine"),
    path("quarantine/<int:pk>/", views.quarantined, name="quarantined"),
    path("quarantine/<int:pk>/raw/", views.raw_message, name="raw"),
    path("quarantine/<int:pk>/reprocess/", views.reprocess, name="reprocess"),
    path("quarantine/<int:pk>/ticket/", views.quarantine_to_ticket, name="quarantine-ticket"),
    path("held/", views.held_list, name="held"),
    path("held/<int:pk>/", views.held, name="held-message"),
    path("held/<int:pk>/<str:decision>/", views.decide_held, name="decide-held"),
    path("mailboxes/", views.mailboxes, name="mailboxes"),
    path("mailboxes/new/", views.mailbox_edit, name="mailbox-new"),
    path("mailboxes/<int:pk>/", views.mailbox_edit, name="mailbox"),
    path("mailboxes/<int:pk>/test/", views.mailbox_test, name="mailbox-test"),
    path("mailboxes/<int:pk>/poll/", views.mailbox_poll, name="mailbox-poll"),
    path("mailboxes/<int:pk>/delete/", views.mailbox_delete, name="mailbox-delete"),
    path("phone/", views.log_call, name="phone"),
    path("embed/", embed.settings_page, name="embed-settings"),
    path("embed/<slug:channel>.js", embed.script, name="embed-script"),
    path("embed/<slug:channel>/submit", embed.submit, name="embed-submit"),
    path("confirm/<str:token>/", views.confirm_sender, name="confirm-sender"),
]
