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


@pytest.mark.parametrize("env, answer", [({"HTTPS_PROXY": "http://proxy.invalid:3128"}, True), ({"HF_HUB_OFFLINE": "1"}, False)])
def test_proxy_or_offline_setting_answers_without_probing(monkeypatch, env, answer):
    """Behind a proxy only the proxy can reach the hub (a direct probe would say no); HF_HUB_OFFLINE=1 says no."""
    hub.hub_reachable.cache_clear()
    for v in ("HF_HUB_OFFLINE", *hub._PROXY_VARS):
        monkeypatch.delenv(v, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setattr(hub.socket, "create_connection", lambda *a, **k: pytest.fail(f"probed with {env}"))
    try:
        assert hub.hub_reachable() is answer
    finally:
        hub.hub_reachable.cache_clear()


def test_a_missing_local_directory_shaped_like_a_hub_id_is_said_to_be_missing(unreachable, tmp_path, monkeypatch):
    from biobert.pipeline import Tagger

    monkeypatch.chdir(tmp_path)
    # "runs/t1" is also a valid hub id: the error used to speak of the network only
    with pytest.raises(ModelLoadError, match="(?s)E301.*no local directory 'runs/t1' either"):
        Tagger.load("runs/t1")
