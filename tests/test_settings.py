"""Settings come from the environment and a bad one is named."""

from __future__ import annotations

import pytest

from service.settings import ENV_NAMES, SettingsError, load_settings


def test_defaults_without_environment():
    settings = load_settings({})
    assert settings.database_url is None
    assert settings.port == 8000


def test_values_are_read_and_converted():
    settings = load_settings({"LOYALTY_PORT": "9000", "DATABASE_URL": "postgresql://x/y"})
    assert settings.port == 9000
    assert settings.database_url == "postgresql://x/y"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"LOYALTY_PORT": "eighty"}, "LOYALTY_PORT"),
        ({"LOYALTY_PORT": "70000"}, "LOYALTY_PORT"),
        ({"LOYALTY_LOG_LEVEL": "LOUD"}, "LOYALTY_LOG_LEVEL"),
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
        ({"LOYALTY_DB_POOL_MIN": "30", "LOYALTY_DB_POOL_MAX": "10"}, "LOYALTY_DB_POOL_MIN"),
    ],
)
def test_bad_value_names_its_variable(env, named):
    with pytest.raises(SettingsError, match=named):
        load_settings(env)


def test_every_setting_is_in_the_docs():
    from pathlib import Path

    root = Path(__file__).parents[1]
    page = (root / "docs" / "operations.md").read_text()
    table = page.split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    missing = [var for var in ENV_NAMES.values() if f"| `{var}` |" not in table]
    assert not missing, f"the settings table of docs/operations.md lacks {missing}"
