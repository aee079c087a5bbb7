"""Configuration comes from the environment, with clear errors for bad values."""

import pytest

from service.config import Settings


def test_defaults():
    settings = Settings.from_env({})
    assert settings == Settings()
    assert settings.index_dir == "var/index" and settings.max_request_bytes == 4 * 1024 * 1024


def test_values_are_read_and_typed():
    settings = Settings.from_env(
        {"INDEX_DIR": "/srv/index", "SUPPORT_THRESHOLD": "0.7", "MODEL_THREADS": "2", "LOAD_IN_BACKGROUND": "yes"}
    )
    assert (settings.index_dir, settings.support_threshold, settings.model_threads, settings.load_in_background) == (
        "/srv/index",
        0.7,
        2,
        True,
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [("MODEL_THREADS", "two"), ("LOAD_IN_BACKGROUND", "maybe"), ("ENCODE_BATCH_TEXTS", "0")],
)
def test_invalid_values_name_the_variable(name, value):
    with pytest.raises(ValueError, match=name):
        Settings.from_env({name: value})


def test_encode_batching_is_configurable():
    assert Settings.from_env({}).encode_batch_texts == 64
    assert Settings.from_env({"ENCODE_BATCH_TEXTS": "1"}).encode_batch_texts == 1


def test_embedding_backend_is_selected_by_config():
    from index.retrieval.embedder import DEFAULT_BACKEND

    assert Settings.from_env({}).embedding_backend == DEFAULT_BACKEND
    settings = Settings.from_env({"EMBEDDING_BACKEND": "onnx-int8", "ONNX_DIR": "/srv/models/minilm-onnx"})
    assert (settings.embedding_backend, settings.onnx_dir) == ("onnx-int8", "/srv/models/minilm-onnx")
    assert Settings.from_env({"EMBEDDING_BACKEND": "torch"}).embedding_backend == "torch"


def test_an_unknown_embedding_backend_names_the_variable_and_the_choices():
    with pytest.raises(ValueError, match=r"EMBEDDING_BACKEND='gpu'.*torch, onnx, onnx-int8"):
        Settings.from_env({"EMBEDDING_BACKEND": "gpu"})


def test_log_level_in_any_case():
    """gunicorn.conf.py accepts `LOG_LEVEL=warning`; the app must too, or every worker fails to boot."""
    assert Settings.from_env({"LOG_LEVEL": "warning"}).log_level == "WARNING"
    assert Settings.from_env({"LOG_LEVEL": "Debug"}).log_level == "DEBUG"
    with pytest.raises(ValueError, match="LOG_LEVEL"):
        Settings.from_env({"LOG_LEVEL": "loud"})


def test_the_old_thread_variable_still_works_and_the_new_one_wins():
    assert Settings.from_env({"TORCH_THREADS": "2"}).model_threads == 2
    assert Settings.from_env({"TORCH_THREADS": "2", "MODEL_THREADS": "3"}).model_threads == 3
