"""Issue 14: light and dark themes follow prefers-color-scheme; the toggle is remembered."""

from __future__ import annotations

import pytest
from e2e_harness import Server, open_dashboard
from playwright.sync_api import Browser, Page, expect

pytestmark = pytest.mark.browser

# WCAG relative luminance and contrast of two computed CSS colours, evaluated in the page.
CONTRAST_JS = """([a, b]) => {
  const lum = (css) => {
    const [r, g, bl] = css.match(/[\\d.]+/g).slice(0, 3).map((v) => {
      const c = Number(v) / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * bl;
  };
  const root = getComputedStyle(document.documentElement);
  const probe = (name) => {
    const el = document.createElement('span');
    el.style.color = root.getPropertyValue(name);
    document.body.appendChild(el);
    const c = getComputedStyle(el).color;
    el.remove();
    return c;
  };
  const [la, lb] = [lum(probe(a)), lum(probe(b))];
  return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
}"""

TEXT_PAIRS = [
    (fg, bg) for fg in ("--text", "--muted", "--faint", "--accent", "--bad", "--warn") for bg in ("--bg", "--panel")
]


def body_background(page: Page) -> str:
    return str(page.evaluate("getComputedStyle(document.body).backgroundColor"))


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_theme_follows_the_system_and_has_readable_contrast(browser: Browser, server: Server, scheme: str) -> None:
    ctx = browser.new_context(color_scheme=scheme)  # type: ignore[arg-type]
    try:
        page = open_dashboard(ctx.new_page(), server)
        expect(page.locator("html")).to_have_attribute("data-theme", scheme)
        bg = body_background(page)
        assert (bg == "rgb(245, 247, 249)") == (scheme == "light"), bg
        for fg, back in TEXT_PAIRS:
            ratio = page.evaluate(CONTRAST_JS, [fg, back])
            assert ratio >= 4.5, f"{scheme}: {fg} on {back} is {ratio:.2f}:1"
    finally:
        ctx.close()


def test_toggle_is_remembered_across_reloads(browser: Browser, server: Server) -> None:
    ctx = browser.new_context(color_scheme="dark")
    try:
        page = open_dashboard(ctx.new_page(), server)
        expect(page.locator("html")).to_have_attribute("data-theme", "dark")
        dark_bg = body_background(page)
        page.get_by_test_id("theme-toggle").click()
        expect(page.locator("html")).to_have_attribute("data-theme", "light")
        assert body_background(page) != dark_bg
        page.reload()
        expect(page.locator("html")).to_have_attribute("data-theme", "light")
        other = open_dashboard(ctx.new_page(), server)  # same browser profile: remembered
        expect(other.locator("html")).to_have_attribute("data-theme", "light")
        other.get_by_test_id("theme-toggle").click()
        expect(other.locator("html")).to_have_attribute("data-theme", "dark")
    finally:
        ctx.close()
