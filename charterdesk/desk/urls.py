from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="handbook:index", permanent=False)),
    path("", include("charterdesk.accounts.urls")),
    path("handbook/", include("charterdesk.handbook.urls")),
    path("protocols/", include("charterdesk.protocols.urls")),
    path("audit/", include("charterdesk.audit.urls")),
]
