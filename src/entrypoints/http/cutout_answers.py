"""What every cut-out answer carries, whichever API shape it has: the headers, and whether JSON is wanted."""

from __future__ import annotations

from typing import Any

from litestar import Request

from domain.cutouts import CutoutResult


def cutout_headers(result: CutoutResult) -> dict[str, str]:
    """``X-Credits-Charged`` (an integer string), the size, the type and the subject's box in the result."""
    image = result.image
    headers = {
        "X-Credits-Charged": str(result.credits_charged),
        "X-Width": str(image.width),
        "X-Height": str(image.height),
    }
    if result.foreground_type is not None:
        headers["X-Type"] = result.foreground_type
    if (box := image.foreground) is not None:
        headers.update(
            {
                "X-Foreground-Top": str(box.top),
                "X-Foreground-Left": str(box.left),
                "X-Foreground-Width": str(box.width),
                "X-Foreground-Height": str(box.height),
            }
        )
    return headers


def wants_json(request: Request[Any, Any, Any]) -> bool:
    return "application/json" in request.headers.get("accept", "")
