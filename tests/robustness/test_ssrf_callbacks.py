"""The same SSRF matrix against ``callback_url``: the real ``SignedWebhookSender`` with its production
address policy, over the stand-in network of ssrf.py. Every direct URL is refused before any
connection; a redirect is never followed, so its target is never reached."""

from __future__ import annotations

import pytest
from robustness.ssrf import PUBLIC_HOST, SSRF_CASES, SsrfCase, SsrfNetwork

from adapters.webhook_sender import SignedWebhookSender
from domain.errors import UrlFetchFailed, UrlNotAllowed
from domain.webhooks import new_secret


@pytest.mark.parametrize("case", SSRF_CASES, ids=str)
async def test_callback_url_never_reaches_a_private_address(ssrf_network: SsrfNetwork, case: SsrfCase) -> None:
    ssrf_network.use(case)
    redirected = case.url.startswith(f"http://{PUBLIC_HOST}/redirect")
    with pytest.raises(UrlFetchFailed if redirected else UrlNotAllowed):
        await SignedWebhookSender().send(case.url, new_secret(), "msg_ssrf", b"{}")
    assert ssrf_network.refused_connects == []
