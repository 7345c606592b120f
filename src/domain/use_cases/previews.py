"""Free previews for visitors who have not signed up."""

from __future__ import annotations

from dataclasses import dataclass

from domain.cutouts import CutoutOptions, CutoutResult, ImageSource
from domain.errors import RateLimited, Unauthorized
from domain.ports import Clock, RateLimiter
from domain.pricing import SizeChoice
from domain.rate_limits import RateLimit
from domain.use_cases.remove_background import RemoveBackground

ANONYMOUS_PREVIEW_LIMIT = RateLimit(limit=10, window_seconds=3600)


@dataclass
class AnonymousPreview:
    """A cut-out for a signed-out visitor.

    Business rules:
    - Only ``size=preview`` (at most 0.25 MP, free): any other size needs an account, so it is
      ``Unauthorized`` with an invitation to sign up.
    - One address (the client's IP) gets at most ``ANONYMOUS_PREVIEW_LIMIT`` previews per
      window, counted before any work; more is ``RateLimited``.
    - Everything else is ``RemoveBackground``'s, which charges nothing for a preview.
    """

    remove_background: RemoveBackground
    rate_limiter: RateLimiter
    clock: Clock

    async def __call__(self, client_ip: str, source: ImageSource, options: CutoutOptions) -> CutoutResult:
        if options.size is not SizeChoice.PREVIEW:
            raise Unauthorized("Sign in for full-size results, or ask for size=preview (free, no account).")
        state = await self.rate_limiter.hit(f"preview:{client_ip}", ANONYMOUS_PREVIEW_LIMIT)
        if not state.allowed:
            raise RateLimited(
                state.retry_after(self.clock.now()),
                "That is all the free previews for now; sign up for more, or try again later.",
            )
        return await self.remove_background(None, source, options)
