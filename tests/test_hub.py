"""Hub ids on a machine without the hub: fail (or load from the cache) at once, not after a minute of retries."""

import time

import pytest

from biobert import hub
from biobert.errors import ModelLoadError


def _refuse(*a, **k):
    raise OSError("Name or service not known")


@pytest.fixture
def unreachable(monkeypatch):
    """What an offline machine looks like: no offline setting, no proxy, and the endpoint cannot be reached."""
    hub.hub_reachable.cache_clear()
    for v in ("HF_HUB_OFFLINE", *hub._PROXY_VARS):
        monkeypatch.delenv(v, raising=False)
    monkeypatch.setattr(hub.socket, "create_connection", _refuse)
    yield
    hub.hub_reachable.cache_clear()


def test_offline_hub_ids_fail_fast_with_the_offline_hint(unreachable):
    from biobert.pipeline import Tagger

    assert hub.hub_reachable() is False and hub.hub_kwargs("someone/some-model") == {"local_files_only": True}
    t0 = time.perf_counter()
    with pytest.raises(ModelLoadError, match="(?s)E301.*not reachable"):
        Tagger.load("someone/some-model")
    assert time.perf_counter() - t0 < 10  # huggingface_hub's retries alone took ~25 s per file


def test_local_directories_never_need_the_hub(unreachable, tmp_path):
    assert hub.hub_kwargs(tmp_path) == {}


def test_a_proxy_means_reachable_without_probing(monkeypatch):
    hub.hub_reachable.cache_clear()
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    monkeypatch.setattr(hub.socket, "create_connection", lambda *a, **k: pytest.fail("probed behind a proxy"))
    try:
        assert hub.hub_reachable() is True
    finally:
        hub.hub_reachable.cache_clear()


def test_hf_hub_offline_answers_no_without_probing(monkeypatch):
    hub.hub_reachable.cache_clear()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hub.socket, "create_connection", lambda *a, **k: pytest.fail("probed although HF_HUB_OFFLINE=1"))
    try:
        assert hub.hub_reachable() is False
    finally:
        hub.hub_reachable.cache_clear()
