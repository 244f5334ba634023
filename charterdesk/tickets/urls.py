from django.urls import path

from . import views

app_name = "tickets"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("badges/", views.queue_badges, name="badges"),
    path("bulk/", views.bulk, name="bulk"),
    path("density/", views.set_density, name="density"),
    path("new/", views.new_ticket, name="new"),
    path("new/check/", views.check_new_ticket, name="check-new"),
    path("macros/", views.macro_list, name="macros"),
    path("macros/<int:macro_id>/", views.macro_list, name="macro-edit"),
    path("macros/<int:macro_id>/delete/", views.macro_delete, name="macro-delete"),
    path("attachments/<int:attachment_id>/", views.attachment, name="attachment"),
    path("<int:ticket_id>/", views.ticket_page, name="ticket"),
    path("<int:ticket_id>/badges/", views.ticket_badges, name="ticket-badges"),
    path("<int:ticket_id>/reply/", views.reply, name="reply"),
    path("<int:ticket_id>/reply/check/", views.check_reply, name="check-reply"),
    path("<int:ticket_id>/presence/", views.presence, name="presence"),
    path("<int:ticket_id>/status/", views.set_status, name="status"),
    path("<int:ticket_id>/confirm-sender/<int:message_id>/", views.confirm_sender, name="confirm-sender"),
    path("<int:ticket_id>/properties/", views.set_properties, name="properties"),
    path("<int:ticket_id>/assignee/", views.set_assignee, name="assignee"),
    path("<int:ticket_id>/link/", views.link_or_merge, {"how": "link"}, name="link"),
    path("<int:ticket_id>/merge/", views.link_or_merge, {"how": "merge"}, name="merge"),
    path("<int:ticket_id>/customer/", views.edit_customer, name="customer"),
    path("<int:ticket_id>/steps/<slug:procedure_id>/<int:step>/", views.tick_step, name="tick"),
    path("<int:ticket_id>/troubleshooting/<slug:tree_id>/", views.troubleshooting, name="troubleshooting"),
    path("<int:ticket_id>/macros/<int:macro_id>/", views.insert_macro, name="insert-macro"),
]
