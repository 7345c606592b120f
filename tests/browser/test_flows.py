"""What a visitor does: sign up, cut out a photo and download it, preview signed out, write to us."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
import numpy as np
import pytest
from images import encode, person_scene
from PIL import Image
from playwright.sync_api import Browser, ViewportSize, expect

from browser.conftest import DESKTOP, PHONE, Site, Visit, open_visit

PASSWORD = "correct horse battery"


def photo(width: int = 1200, height: int = 900) -> tuple[bytes, Image.Image]:
    picture, subject = person_scene(width, height)
    return encode(picture, quality=90), subject


def record_states(visit: Visit) -> None:
    """Keep every state the uploader and its progress bar go through, in order, on ``window.seen``."""
    visit.page.evaluate(
        """() => {
          window.seen = { states: [], progress: [] };
          const root = document.querySelector("[data-uploader]");
          const bar = root.querySelector("progress");
          new MutationObserver(() => window.seen.states.push(root.dataset.state))
            .observe(root, { attributes: true, attributeFilter: ["data-state"] });
          new MutationObserver(() => window.seen.progress.push(Number(bar.value)))
            .observe(bar, { attributes: true, attributeFilter: ["value"] });
        }"""
    )


def download(visit: Visit, tmp_path: Path, name: str) -> Image.Image:
    link = visit.page.locator("[data-download]")
    expect(link).not_to_have_attribute("aria-disabled", "true")  # off while a new background is painted
    with visit.page.expect_download() as started:
        link.click()
    saved = tmp_path / name
    started.value.save_as(saved)
    assert saved.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return Image.open(saved)


def assert_cut_out(image: Image.Image, subject: Image.Image) -> None:
    assert image.mode == "RGBA"
    alpha = np.asarray(image.getchannel("A"))
    inside = np.asarray(subject.resize(image.size)) > 0
    assert alpha[inside].mean() > 180  # the person stays
    assert alpha[: image.height // 8, : image.width // 8].mean() < 40  # the background is gone


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_sign_up_through_the_form_then_cut_out_and_download(
    browser: Browser, site: Site, tmp_path: Path, viewport: ViewportSize
) -> None:
    visit = open_visit(browser, site, viewport)
    page = visit.page
    email = f"newcomer-{viewport['width']}@example.com"
    page.goto("/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Sign up").click()
    expect(page).to_have_url(f"{site.url}/signup/")

    page.get_by_role("button", name="Create my account").click()  # empty: the browser's words, by the field
    expect(page.locator("#email-error")).to_be_visible()
    assert page.locator("#email-error").inner_text().strip()
    expect(page.locator("#email")).to_have_attribute("aria-invalid", "true")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Create my account").click()
    expect(page.locator("#password-error")).to_be_visible()
    expect(page.locator("#email-error")).to_be_hidden()
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create my account").click()
    expect(page).to_have_url(f"{site.url}/removebg/")
    expect(page.locator("[data-credits-badge]")).to_have_text("3 credits")
    expect(page.locator("[data-sizes]")).to_be_visible()
    expect(page.locator("[data-anonymous-note]")).to_be_hidden()

    jpeg, subject = photo()
    record_states(visit)
    page.locator("[data-file]").set_input_files({"name": "portrait.jpg", "mimeType": "image/jpeg", "buffer": jpeg})
    expect(page.locator("[data-uploader]")).to_have_attribute("data-state", "done", timeout=30_000)
    seen = page.evaluate("window.seen")
    assert seen["states"][:3] == ["uploading", "processing", "done"]
    assert seen["progress"][-1] == 100
    expect(page.locator("[data-status]")).to_contain_text("1200 × 900 pixels, 1 credit used")
    expect(page.locator("[data-result-note]")).to_have_text("Credits left: 2.")
    expect(page.locator("[data-credits-badge]")).to_have_text("2 credits")
    expect(page.locator("[data-after-layer]")).to_have_class("after checker")

    cut_out = download(visit, tmp_path, "transparent.png")
    assert cut_out.size == (1200, 900)
    assert_cut_out(cut_out, subject)
    assert visit.page.locator("[data-download]").get_attribute("download") == "portrait-cutout.png"

    page.locator("[data-slider]").fill("20")
    assert page.locator("[data-compare]").evaluate("el => el.style.getPropertyValue('--split')") == "20%"
    transparent_href = page.locator("[data-download]").get_attribute("href")
    page.get_by_label("White").check()
    # At once, the link no longer offers the transparent file: it is off until the white one is painted.
    assert page.locator("[data-download]").get_attribute("href") != transparent_href
    on_white = download(visit, tmp_path, "white.png").convert("RGBA")
    assert np.asarray(on_white.getchannel("A")).min() == 255  # nothing transparent is left
    assert np.asarray(on_white)[5, 5, :3].tolist() == [255, 255, 255]
    layer_colour = page.locator("[data-after-layer]").evaluate("el => getComputedStyle(el).backgroundColor")
    assert layer_colour == "rgb(255, 255, 255)"
    visit.context.close()
    assert visit.page_errors == [] and visit.outside_requests == []


def test_a_signed_out_visitor_gets_a_free_preview_and_an_invitation(visit: Visit, tmp_path: Path) -> None:
    page = visit.page
    page.goto("/removebg/")
    expect(page.locator("[data-anonymous-note]")).to_be_visible()
    expect(page.locator("[data-sizes]")).to_be_hidden()
    jpeg, subject = photo(1600, 1200)
    page.locator("[data-file]").set_input_files({"name": "big.jpg", "mimeType": "image/jpeg", "buffer": jpeg})
    expect(page.locator("[data-uploader]")).to_have_attribute("data-state", "done", timeout=30_000)
    expect(page.locator("[data-status]")).to_contain_text("free")
    expect(page.locator("[data-result-note] a[href='/signup/']")).to_have_text("Sign up")
    preview = download(visit, tmp_path, "preview.png")
    assert preview.width * preview.height <= 250_000 and preview.width / preview.height == pytest.approx(4 / 3, 0.01)
    assert_cut_out(preview, subject)


def test_the_home_page_uploader_works_too(visit: Visit) -> None:
    visit.page.goto("/")
    jpeg, _ = photo(640, 480)
    visit.page.locator("[data-file]").set_input_files({"name": "a.jpg", "mimeType": "image/jpeg", "buffer": jpeg})
    expect(visit.page.locator("[data-uploader]")).to_have_attribute("data-state", "done", timeout=30_000)
    expect(visit.page.locator("[data-after]")).to_have_js_property("naturalWidth", 577)  # 0.25 MP at 4:3


def test_paste_and_drop_upload_too(visit: Visit) -> None:
    page = visit.page
    page.goto("/removebg/")
    jpeg, _ = photo(400, 300)
    dispatch = """([kind, b64]) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const transfer = new DataTransfer();
      transfer.items.add(new File([bytes], `${kind}.jpg`, { type: "image/jpeg" }));
      const event = kind === "paste"
        ? new ClipboardEvent("paste", { clipboardData: transfer, bubbles: true })
        : new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true });
      (kind === "paste" ? document : document.querySelector("[data-drop]")).dispatchEvent(event);
    }"""
    for kind in ("paste", "drop"):
        page.evaluate(dispatch, [kind, base64.b64encode(jpeg).decode()])
        expect(page.locator("[data-uploader]")).to_have_attribute("data-state", "done", timeout=30_000)
        assert page.locator("[data-download]").get_attribute("download") == f"{kind}-cutout.png"


def test_bad_files_are_refused_in_words(visit: Visit) -> None:
    page = visit.page
    page.goto("/removebg/")
    uploads: list[str] = []
    page.on("request", lambda request: uploads.append(request.url) if "/api/v1/removebg" in request.url else None)
    file_input = page.locator("[data-file]")
    error = page.locator("[data-error]")

    file_input.set_input_files({"name": "notes.txt", "mimeType": "text/plain", "buffer": b"hello"})
    expect(error).to_contain_text("“notes.txt” is not a JPEG, PNG or WebP image")
    page.evaluate(  # made in the page: sending 25 MB through the driver would take long
        """() => {
          const transfer = new DataTransfer();
          transfer.items.add(new File([new Uint8Array(25_000_001)], "huge.jpg", { type: "image/jpeg" }));
          const input = document.querySelector("[data-file]");
          input.files = transfer.files;
          input.dispatchEvent(new Event("change"));
        }"""
    )
    expect(error).to_contain_text("“huge.jpg” is 25.0 MB; the limit is 25 MB.")
    assert uploads == []  # both were caught before any upload

    file_input.set_input_files({"name": "broken.png", "mimeType": "image/png", "buffer": b"\x89PNG but not really"})
    expect(error).to_have_text("The file is not a readable JPEG, PNG or WebP image.")
    expect(page.locator("[data-uploader]")).to_have_attribute("data-state", "error")
    assert len(uploads) == 1


def test_log_in_shows_wrong_passwords_in_words_then_signs_in(visit: Visit, site: Site) -> None:
    httpx.post(f"{site.url}/api/v1/auth/signup", json={"email": "returning@example.com", "password": PASSWORD})
    page = visit.page
    page.goto("/login/")
    page.get_by_label("Email").fill("returning@example.com")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("[data-form-error]")).to_have_text("Wrong email or password.")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{site.url}/removebg/")
    expect(page.locator("[data-credits-badge]")).to_have_text("3 credits")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{site.url}/")
    expect(page.get_by_role("link", name="Log in")).to_be_visible()


def test_signing_up_twice_says_so_next_to_the_email(visit: Visit, site: Site) -> None:
    httpx.post(f"{site.url}/api/v1/auth/signup", json={"email": "taken@example.com", "password": PASSWORD})
    visit.page.goto("/signup/")
    visit.page.get_by_label("Email").fill("taken@example.com")
    visit.page.get_by_label("Password").fill(PASSWORD)
    visit.page.get_by_role("button", name="Create my account").click()
    expect(visit.page.locator("#email-error")).to_have_text("An account with that email already exists.")


def test_the_contact_form_stores_a_message(visit: Visit, site: Site) -> None:
    page = visit.page
    page.goto("/contact/")
    page.get_by_role("button", name="Send message").click()
    expect(page.locator("#name-error")).to_be_visible()
    page.get_by_label("Your name").fill("Grace Hopper")
    page.get_by_label("Email").fill("grace@example.com")
    page.get_by_label("Message").fill("Short")
    page.get_by_role("button", name="Send message").click()
    expect(page.locator("#message-error")).to_be_visible()
    expect(page.locator("#name-error")).to_be_hidden()
    page.get_by_label("Message").fill("Can I run Cutout on my own server at work?")
    page.get_by_role("button", name="Send message").click()
    expect(page.locator("[data-contact-sent]")).to_be_visible()
    expect(page.locator("[data-contact-form]")).to_be_hidden()
    stored = site.cli("messages", "--limit", "5")
    assert "Grace Hopper <grace@example.com>" in stored
    assert "Can I run Cutout on my own server at work?" in stored
