"""Every page: loads cleanly, says what it is to people and to search engines, and stays light."""

from __future__ import annotations

import json
import re
from collections import Counter
from xml.etree import ElementTree

import httpx
import pytest
from playwright.sync_api import Browser, Page, ViewportSize

from browser.conftest import DESKTOP, PAGES, PHONE, Site, Visit, open_visit

BUDGET_BYTES = 60_000
"""HTML + CSS + JS + fonts of one page (images are counted apart)."""


def weigh(page: Page) -> Counter[str]:
    """Bytes received by the page, by kind (document, stylesheet, script, font, image, fetch, ...)."""
    sizes: Counter[str] = Counter()
    page.on("response", lambda response: sizes.update({response.request.resource_type: len(response.body())}))
    return sizes


def page_facts(visit: Visit) -> dict:
    return visit.page.evaluate(
        """() => {
          const meta = (key) => document.querySelector(`meta[name="${key}"], meta[property="${key}"]`)?.content;
          const fields = [...document.querySelectorAll("input, textarea, select")]
            .filter((el) => el.type !== "hidden" && !el.closest("[aria-hidden=true]"));
          return {
            lang: document.documentElement.lang,
            title: document.title,
            description: meta("description"),
            canonical: document.querySelector("link[rel=canonical]")?.href,
            og: ["og:title", "og:description", "og:url", "og:image", "og:type"].map(meta),
            h1s: document.querySelectorAll("h1").length,
            landmarks: ["header", "nav", "main", "footer"].map((tag) => document.querySelectorAll(tag).length),
            unlabelled: fields
              .filter((el) => el.labels.length === 0 && !el.getAttribute("aria-label"))
              .map((el) => el.outerHTML),
            overflows: document.documentElement.scrollWidth > window.innerWidth,
          };
        }"""
    )


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_every_page_loads_cleanly_and_describes_itself(browser: Browser, site: Site, viewport: ViewportSize) -> None:
    titles, descriptions = set(), set()
    for path in PAGES:
        visit = open_visit(browser, site, viewport)
        sizes = weigh(visit.page)
        with visit.page.expect_response("**/api/v1/auth/session"):  # the last request a page makes
            response = visit.page.goto(path)
        assert response is not None and response.status == 200, path
        facts = page_facts(visit)
        visit.context.close()

        assert visit.console_errors == [] and visit.page_errors == [], path
        assert visit.outside_requests == [], path
        assert facts["lang"] == "en"
        assert facts["canonical"] == site.url + path
        assert all(facts["og"]), (path, facts["og"])
        assert facts["h1s"] == 1, path
        assert all(count >= 1 for count in facts["landmarks"]), path
        assert facts["unlabelled"] == [], path
        assert not facts["overflows"], f"{path} scrolls sideways at {viewport}"
        assert 30 <= len(facts["description"]) <= 170, path
        titles.add(facts["title"])
        descriptions.add(facts["description"])

        assert sizes.get("font", 0) == 0  # system fonts only
        weight = sum(sizes.get(kind, 0) for kind in ("document", "stylesheet", "script", "font"))
        assert 0 < weight <= BUDGET_BYTES, f"{path} weighs {weight} bytes"
        assert sizes.get("image", 0) <= 40_000, path
    assert len(titles) == len(descriptions) == len(PAGES)  # each page has its own


def test_unknown_pages_get_the_sites_404(visit: Visit) -> None:
    response = visit.page.goto("/no-such-page/")
    assert response is not None and response.status == 404
    assert visit.page.locator("h1").inner_text() == "Page not found"
    assert visit.page.locator("main a[href='/removebg/']").count() == 1


def test_sitemap_and_robots_name_every_page_on_the_public_url(site: Site) -> None:
    sitemap = httpx.get(f"{site.url}/sitemap.xml")
    assert sitemap.status_code == 200
    namespace = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    locations = [loc.text or "" for loc in ElementTree.fromstring(sitemap.content).findall("s:url/s:loc", namespace)]
    assert sorted(locations) == sorted(site.url + path for path in PAGES)
    robots = httpx.get(f"{site.url}/robots.txt").text
    assert f"Sitemap: {site.url}/sitemap.xml" in robots
    assert "Disallow: /api/" in robots


def test_the_faq_structured_data_matches_the_questions_on_the_page(visit: Visit) -> None:
    visit.page.goto("/faq/")
    data = json.loads(visit.page.locator("script[type='application/ld+json']").inner_text())
    assert data["@type"] == "FAQPage"
    visible = visit.page.locator("main h2").all_inner_texts()
    assert [q["name"] for q in data["mainEntity"]] == visible
    assert len(visible) >= 6
    answers = " ".join(q["acceptedAnswer"]["text"] for q in data["mainEntity"])
    for topic in ("JPEG", "25 MB", "24 hours", "credit", "API", "own server"):
        assert topic in answers + " ".join(visible), topic


def test_pricing_shows_the_plans_the_api_serves(visit: Visit, site: Site) -> None:
    plans = httpx.get(f"{site.url}/api/v1/plans").json()["data"]
    visit.page.goto("/pricing/")
    cards = visit.page.locator("[data-plan]")
    assert cards.count() == len(plans)
    for plan in plans:
        card = visit.page.locator(f"[data-plan='{plan['id']}']")
        assert card.locator("h2").inner_text() == plan["name"]
        assert card.locator("[data-credits]").inner_text() == str(plan["credits"])
        price = card.locator("[data-price]").inner_text()
        assert float(re.sub(r"[^\d.]", "", price)) == plan["price_cents"] / 100, (price, plan)
        if plan["kind"] != "free":
            button = card.locator("button")
            assert button.is_disabled() and "coming soon" in button.inner_text().lower()
