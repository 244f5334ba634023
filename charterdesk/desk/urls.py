from django.urls import include, path
from django.views.generic import RedirectView

from charterdesk.api.main import api

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="handbook:index", permanent=False)),
    path("", include("charterdesk.accounts.urls")),
    path("handbook/", include("charterdesk.handbook.urls")),
    path("protocols/", include("charterdesk.library.urls")),
    path("audit/", include("charterdesk.audit.urls")),
    path("tickets/", include("charterdesk.tickets.urls")),
    path("notifications/", include("charterdesk.notifications.urls")),
    path("portal/", include("charterdesk.portal.urls")),
    path("channels/", include("charterdesk.channels.urls")),
    path("whatif/", include("charterdesk.whatif.urls")),
    path("surveys/", include("charterdesk.surveys.urls")),
    path("reports/", include("charterdesk.reports.urls")),
    path("tokens/", include("charterdesk.api.urls")),
    path("api/", api.urls),
]

handler404 = "charterdesk.desk.errors.not_found"
handler400 = "charterdesk.desk.errors.bad_request"
