"""The pre-filled offline cancellation form is offered on the subject page, for the subject and each website."""

import pytest

from tests import factories as f

pytestmark = pytest.mark.django_db


def test_subject_page_links_the_prefilled_forms_that_download(client):
    owner = f.user()
    subject = f.filed_subject(owner, domains_per_site=(["form-a.cn"], ["form-b.cn"]))
    client.force_login(owner)
    page = client.get(f"/subjects/{subject.pk}/").content.decode()
    site = subject.websites.get(sequence=2)
    from urllib.parse import quote

    subject_link = f"/api/v1/filings/{quote(subject.number)}/cancellation-form?format=pdf&amp;type=subject"
    website_link = f"/api/v1/filings/{quote(site.number)}/cancellation-form?format=pdf&amp;type=website"
    assert subject_link in page and website_link in page
    response = client.get(website_link.replace("&amp;", "&"))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
