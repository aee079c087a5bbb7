"""Configuration comes from the environment, with clear errors for bad values."""

import pytest

from service.config import Settings


def test_defaults():
    settings = Settings.from_env({})
    assert settings == Settings()
    assert settings.index_dir == "var/index" and settings.max_request_bytes == 4 * 1024 * 1024


def test_values_are_read_and_typed():
    settings = Settings.from_env(
        {"INDEX_DIR": "/srv/index", "SUPPORT_THRESHOLD": "0.7", "TORCH_THREADS": "2", "LOAD_IN_BACKGROUND": "yes"}
    )
    assert (settings.index_dir, settings.support_threshold, settings.torch_threads, settings.load_in_background) == (
        "/srv/index",
        0.7,
        2,
        True,
    )


@pytest.mark.parametrize(("name", "value"), [("TORCH_THREADS", "two"), ("LOAD_IN_BACKGROUND", "maybe")])
def test_invalid_values_name_the_variable(name, value):
    with pytest.raises(ValueError, match=name):
        Settings.from_env({name: value})


def test_log_level_in_any_case():
    """gunicorn.conf.py accepts `LOG_LEVEL=warning`; the app must too, or every worker fails to boot."""
    assert Settings.from_env({"LOG_LEVEL": "warning"}).log_level == "WARNING"
    assert Settings.from_env({"LOG_LEVEL": "Debug"}).log_level == "DEBUG"
    with pytest.raises(ValueError, match="LOG_LEVEL"):
        Settings.from_env({"LOG_LEVEL": "loud"})
