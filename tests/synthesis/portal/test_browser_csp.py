"""The portal and the admin work under the Content-Security-Policy: a real Chromium
goes through them (sign-up, a synthesis with its live progress and player, voices,
keys, the admin's lists, forms and actions) and reports no CSP violation."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.support.browser import wait_for_result
from tests.support.tones import voiced_tone_wav

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("celery_worker"),
]

PASSWORD = "a-long-Passphrase-9"

# Registered before any page script: every violation the browser reports, per page.
RECORD_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  const seen = JSON.parse(sessionStorage.getItem("csp") || "[]");
  seen.push(event.violatedDirective + " " + event.blockedURI + " " + location.pathname);
  sessionStorage.setItem("csp", JSON.stringify(seen));
});
"""


def watched(page) -> list[str]:
    console: list[str] = []
    page.add_init_script(RECORD_VIOLATIONS)
    page.on(
        "console",
        lambda message: (
            console.append(message.text)
            if "Content Security Policy" in message.text
            else None
        ),
    )
    return console


def assert_policy(response) -> None:
    policy = response.headers.get("content-security-policy", "")
    assert (
        "script-src 'self'" in policy
        and "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    ), policy


def violations(page, console: list[str]) -> list[str]:
    return console + page.evaluate("JSON.parse(sessionStorage.getItem('csp') || '[]')")


def test_the_portal_works_under_the_csp(new_page, tmp_path):
    page = new_page()
    console = watched(page)

    assert_policy(page.goto("/accounts/signup/"))
    page.get_by_label("Username").fill("nadia")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url("**/")
    assert page.evaluate("typeof htmx") == "object"  # the script files ran

    # The live counter and htmx's progress polling are scripts from static files.
    page.get_by_label("Text", exact=True).fill("Hello")
    assert page.locator("#text-counter [data-count]").inner_text() == "5"
    page.get_by_label("Text", exact=True).fill("Policies keep inline scripts out.")
    page.get_by_role("button", name="Synthesize").click()
    assert wait_for_result(page) == "succeeded"
    duration = page.evaluate(
        """async () => {
          const audio = document.querySelector("#synthesis-status audio");
          if (audio.readyState < 1) {
            audio.load();
            await new Promise((r) => audio.addEventListener("loadedmetadata", r, {once: true}));
          }
          return audio.duration;
        }"""
    )
    assert duration > 0

    page.goto("/history/")
    expect(page.get_by_text("Policies keep inline scripts out.")).to_be_visible()

    clip = tmp_path / "me.wav"
    clip.write_bytes(voiced_tone_wav(2.0))
    page.goto("/voices/")
    page.get_by_label("Name").fill("Me")
    page.get_by_label("Transcript").fill("The quick brown fox jumps over the lazy dog.")
    page.get_by_label("Audio clip").set_input_files(str(clip))
    page.get_by_label("I am this speaker", exact=False).check()
    page.get_by_role("button", name="Upload voice").click()
    expect(page.get_by_text("was added")).to_be_visible()

    page.goto("/account/")
    page.get_by_label("Key name").fill("laptop")
    page.get_by_role("button", name="Create key").click()
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()

    assert violations(page, console) == []


def test_the_admin_works_under_the_csp(new_page, django_user_model):
    django_user_model.objects.create_superuser(username="root", password=PASSWORD)
    victim = django_user_model.objects.create_user(username="victim", password=PASSWORD)
    page = new_page()
    console = watched(page)

    assert_policy(page.goto("/admin/login/"))
    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/admin/")
    # The user form uses the admin's scripts (permission selector, date widgets).
    page.goto(f"/admin/accounts/user/{victim.pk}/change/")
    expect(page.locator("#id_user_permissions_from")).to_be_visible()
    page.goto("/admin/accounts/user/")
    page.locator(f"input[name=_selected_action][value='{victim.pk}']").check()
    page.locator("select[name=action]").select_option("block_selected")
    page.locator("button[name=index]").click()
    expect(page.get_by_text("Blocked 1 item(s).")).to_be_visible()
    for path in (
        "/admin/synthesis/artifact/",
        "/admin/synthesis/voice/",
        "/admin/accounts/apikey/",
        "/admin/synthesis/auditentry/",
    ):
        page.goto(path)
        expect(page.locator("#content")).to_be_visible()

    assert violations(page, console) == []


def test_the_api_reference_works_under_the_csp(new_page):
    page = new_page()
    console = watched(page)
    assert_policy(page.goto("/api/docs/"))
    expect(page.locator(".swagger-ui .info .title")).to_be_visible()
    expect(page.get_by_text("/api/v1/syntheses").first).to_be_visible()
    assert violations(page, console) == []
