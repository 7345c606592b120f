"""Free previews for visitors who have not signed up."""

from __future__ import annotations

from dataclasses import dataclass

from domain.cutouts import CutoutOptions, CutoutResult, ImageSource
from domain.errors import Unauthorized
from domain.pricing import SizeChoice
from domain.use_cases.remove_background import RemoveBackground


@dataclass
class AnonymousPreview:
    """A cut-out for a signed-out visitor.

    Business rules:
    - Only ``size=preview`` (at most 0.25 MP, free): any other size needs an account, so it is
      ``Unauthorized`` with an invitation to sign up.
    - How many previews one address gets is the route's rate limit for signed-out callers
      (``CUTOUT_ANONYMOUS_PREVIEWS_PER_HOUR`` and ``CUTOUT_ANONYMOUS_RATE_LIMIT_PER_MINUTE``), counted
      before any work, in one place, so the limit that refuses is the one the answer describes.
    - Everything else is ``RemoveBackground``'s, which charges nothing for a preview.
    """

    remove_background: RemoveBackground

    async def __call__(self, source: ImageSource, options: CutoutOptions) -> CutoutResult:
        if options.size is not SizeChoice.PREVIEW:
            raise Unauthorized("Sign in for full-size results, or ask for size=preview (free, no account).")
        return await self.remove_background(None, source, options)
