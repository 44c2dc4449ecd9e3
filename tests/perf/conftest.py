"""The trained router of tests/routing (three categories, rules, an active model) for these tests too."""

from tests.routing.conftest import router  # noqa: F401
