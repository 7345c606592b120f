"""Pelican settings for Cutout's site: pages only, no blog. Build it with `make site`.

The canonical URL (CUTOUT_PUBLIC_URL), the output folder (CUTOUT_SITE_DIR) and the free
credits come from the same settings as the server; the plans from the same domain module
as ``GET /api/v1/plans``.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "site" / "plugins")]

from domain.plans import catalogue  # noqa: E402
from entrypoints.settings import Settings  # noqa: E402

# Building needs no secret: a placeholder keeps Settings from generating one into the data dir.
settings = Settings.from_env({**os.environ, "CUTOUT_SECRET_KEY": "not-used-to-build-the-site"})

SITENAME = "Cutout"
SITEURL = settings.public_url
PATH = str(ROOT / "site" / "content")
THEME = str(ROOT / "site" / "theme")
OUTPUT_PATH = str(settings.site_dir)
TIMEZONE = "UTC"
DEFAULT_LANG = "en"
RELATIVE_URLS = False

# Pages only: no articles, indexes, archives or feeds.
PAGE_PATHS = ["pages"]
ARTICLE_PATHS = []
DIRECT_TEMPLATES = []
PAGE_URL = "{slug}/"
PAGE_SAVE_AS = "{slug}/index.html"
AUTHOR_SAVE_AS = CATEGORY_SAVE_AS = TAG_SAVE_AS = ""
FEED_ALL_ATOM = FEED_ALL_RSS = CATEGORY_FEED_ATOM = TRANSLATION_FEED_ATOM = None
AUTHOR_FEED_ATOM = AUTHOR_FEED_RSS = None
STATIC_PATHS = ["images"]
TEMPLATE_PAGES = {"robots.txt": "robots.txt"}
CACHE_CONTENT = False
LOAD_CONTENT_CACHE = False
MARKDOWN = {"extension_configs": {"markdown.extensions.extra": {}}, "output_format": "html5"}

PLUGINS = ["sitemap", "faq_schema"]
SITEMAP = {
    "format": "xml",
    "priorities": {"pages": 0.6},
    "changefreqs": {"pages": "monthly"},
    "exclude": [r"robots\.txt$"],
}

PLANS = catalogue(settings.signup_credits)
SIGNUP_CREDITS = settings.signup_credits
NAV = [("", "Home"), ("removebg/", "Remove background"), ("pricing/", "Pricing"), ("faq/", "FAQ")]


def money(cents: float, currency: str) -> str:
    """€9 for whole amounts, €0.18 for cents, €0.098 for fractions of a cent (prices per image)."""
    symbol = {"EUR": "€", "USD": "$", "GBP": "£"}.get(currency, currency + " ")
    if cents % 100 == 0:
        return f"{symbol}{cents // 100:.0f}"
    return f"{symbol}{cents / 100:.2f}" if cents == int(cents) else f"{symbol}{cents / 100:.2g}"


JINJA_FILTERS = {"money": money}
