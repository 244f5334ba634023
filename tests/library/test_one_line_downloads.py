"""A line break in a protocol's company can no longer be published, and a version stored with one
before the rule existed downloads without a server error."""

from __future__ import annotations

import pytest
from django.urls import reverse

from charterdesk.library.actions import PublishRefused, do_create_draft, do_publish
from charterdesk.library.models import ProtocolVersion
from charterdesk.library.versions import version_in_force

BROKEN = 'company: "Acme\\nGear"'


def _with_broken_company(source: str, version: str = "3.2") -> str:
    return source.replace("company: Acme Outdoor Gear", BROKEN, 1).replace(
        'version: "3.2"', f'version: "{version}"', 1
    )


def test_a_draft_with_a_line_break_in_its_company_cannot_be_published(demo, example_source):
    """Publishing a 3.3 draft whose company is "Acme\\nGear" is refused with the problem at line 2."""
    draft = do_create_draft(_with_broken_company(example_source, "3.3"), actor=demo["manager"])
    with pytest.raises(PublishRefused) as refused:
        do_publish(draft, actor=demo["manager"])
    assert [(p.line, p.path) for p in refused.value.problems] == [(2, "company")]
    assert "must be on one line" in refused.value.problems[0].message
    assert version_in_force().version == "3.2"


def test_the_draft_downloads_as_yaml_and_points_to_its_errors_for_the_handbook(signed_in, example_source):
    """The draft's file downloads as acme-gear-protocol-3.3.yaml; its handbook (Markdown, PDF) sends
    the manager back to the editor with a message, never a server error."""
    client = signed_in("manager")
    manager = ProtocolVersion.objects.get().created_by
    draft = do_create_draft(_with_broken_company(example_source, "3.3"), actor=manager)
    assert draft.company == "Acme\nGear"
    yaml = client.get(reverse("library:download", args=[draft.pk, "yaml"]))
    assert yaml.status_code == 200
    assert yaml["Content-Disposition"] == 'attachment; filename="acme-gear-protocol-3.3.yaml"'
    for fmt in ("md", "pdf"):
        response = client.get(reverse("library:download", args=[draft.pk, fmt]))
        assert response.status_code == 302 and response["Location"] == reverse(
            "library:edit", args=[draft.pk]
        )


def test_a_version_stored_with_a_line_break_before_the_rule_downloads_without_a_server_error(signed_in):
    """The version in force, stored with "Acme\\nGear" before one-line fields were checked, still downloads
    as YAML with a clean file name; its handbook formats lead to its preview listing the problem."""
    version = version_in_force()
    ProtocolVersion.objects.filter(pk=version.pk).update(
        source=_with_broken_company(version.source), company="Acme\nGear"
    )
    client = signed_in("agent")
    yaml = client.get(reverse("library:download", args=[version.pk, "yaml"]))
    assert yaml.status_code == 200
    assert yaml["Content-Disposition"] == 'attachment; filename="acme-gear-protocol-3.2.yaml"'
    assert b'company: "Acme\\nGear"' in yaml.content
    for fmt in ("md", "pdf"):
        response = client.get(reverse("library:download", args=[version.pk, fmt]))
        assert response.status_code == 302
        assert response["Location"] == reverse("library:preview", args=[version.pk])
    preview = client.get(reverse("library:preview", args=[version.pk]))
    assert preview.status_code == 200
    assert "must be on one line" in preview.content.decode()
