# The admin's browser tests use the portal's Chromium fixtures.
from tests.synthesis.portal.conftest import browser, new_page  # noqa: F401
