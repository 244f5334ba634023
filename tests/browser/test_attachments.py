"""An agent reads an HTML mail with an inline picture, unfolds its quoted history, and replies with a
file from the composer; the customer sees the file in the portal."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from django.utils import timezone

from .conftest import sign_in

pytestmark = pytest.mark.browser

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
    b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND"
    b"\xaeB`\x82"
)
SCREENSHOT = os.environ.get("CHARTERDESK_SCREENSHOT_DIR", "")


@pytest.fixture
def html_ticket(demo_live, settings, tmp_path):
    from charterdesk.library.models import ProtocolVersion
    from charterdesk.tickets.actions import do_create_ticket, do_customer_message, do_find_or_create_customer
    from charterdesk.tickets.attachments import IncomingFile, do_attach_files

    settings.MEDIA_ROOT = tmp_path / "media"
    ProtocolVersion.objects.update(effective_at=timezone.now() - dt.timedelta(days=1))
    jo = do_find_or_create_customer(email="jo@example.com", name="Jo Walker")
    ticket = do_create_ticket(customer=jo, subject="Tent pole snapped", body="It broke.", channel="email")
    message = do_customer_message(
        ticket,
        body="See the photo.",
        body_html=(
            "<p>Hello,</p><p>the <b>middle pole</b> snapped on the first night. Photo:</p>"
            '<p><img src="cid:pole@mail.example" alt="the snapped pole" width="120" height="80"></p>'
            "<ul><li>Order 1042</li><li>Tent: Ridgeline 2</li></ul><script>alert(1)</script>"
            '<div class="gmail_quote"><div>On Mon, Dec 7, 2026 at 9:12 AM Acme Support '
            "&lt;support@acme.example&gt; wrote:<br></div><blockquote>Thanks for writing. Which tent "
            "do you have?</blockquote></div>"
        ),
    )
    do_attach_files(
        message,
        [
            IncomingFile("pole.png", PNG, "image/png", "<pole@mail.example>"),
            IncomingFile("receipt.pdf", b"%PDF-1.4 receipt", "application/pdf"),
        ],
    )
    return demo_live, ticket


def test_an_agent_reads_html_mail_unfolds_the_quote_and_replies_with_a_file(page, html_ticket, tmp_path):
    """An agent reads an HTML mail with its inline image, unfolds the folded quote, sees receipt.pdf, and
    replies with return-label.pdf, which downloads under that name."""
    base, ticket = html_ticket
    sign_in(page, base, "alex@acme.example", "demo-agent-1")
    page.goto(f"{base}/tickets/{ticket.pk}/")
    body = page.locator(".msg-html").first
    assert "middle pole" in body.inner_text()
    assert page.locator(".msg-html img[alt='the snapped pole']").evaluate("img => img.naturalWidth") == 1
    quoted = page.locator("details.quoted").first
    assert not quoted.locator("blockquote").is_visible()
    if SCREENSHOT:
        page.screenshot(path=os.path.join(SCREENSHOT, "ticket-html-folded.png"), full_page=True)
    quoted.locator("summary").click()
    assert quoted.locator("blockquote").is_visible()
    assert page.locator(".attachments a", has_text="receipt.pdf").count() == 1
    if SCREENSHOT:
        page.screenshot(path=os.path.join(SCREENSHOT, "ticket-html-attachment.png"), full_page=True)

    upload = tmp_path / "return-label.pdf"
    upload.write_bytes(b"%PDF-1.4 label")
    page.fill("#id_body", "Here is your return label.")
    page.set_input_files("#id_files", str(upload))
    page.click("[data-send]")
    page.wait_for_selector(".attachments a:has-text('return-label.pdf')")
    with page.expect_download() as download:
        page.click(".attachments a:has-text('return-label.pdf')")
    assert download.value.suggested_filename == "return-label.pdf"
