from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render

from charterdesk.core.permissions import require

from .actions import verify_chain
from .models import AuditEntry
from .refs import names_for, with_names


@login_required
def log(request):
    require(request, "audit.view")
    entries = AuditEntry.objects.select_related("actor").order_by("-id")
    action = request.GET.get("action", "").strip()
    if action:
        entries = entries.filter(action__startswith=action)
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    # Entries name people and customers by id; the page shows who they are now, to those who
    # may see it (a customer's name needs the customer rule: core.permissions.sees_customer_contact).
    names = names_for(request, (e.summary for e in page))
    for entry in page:
        entry.shown_summary = with_names(entry.summary, names)
    report = verify_chain() if request.GET.get("verify") else None
    return render(request, "audit/log.html", {"page": page, "action": action, "report": report})
