"""Run reports: environment, data hashes and the written JSON."""

from __future__ import annotations

import hashlib
import json

from biobert import report


def test_environment_names_the_cpu_and_the_libraries():
    env = report.environment()
    assert env["cpu"] and isinstance(env["cpu"], str)
    assert env["cpu_count"] >= 1
    assert "torch" in env["packages"] and "biobert" in env["packages"]


def test_cpu_model_reads_proc_cpuinfo_when_present(tmp_path, monkeypatch):
    fake = tmp_path / "cpuinfo"
    fake.write_text("processor\t: 0\nvendor_id\t: X\nmodel name\t: Test CPU 9000 @ 1GHz\n", encoding="utf-8")
    real_open = open

    def fake_open(path, *args, **kwargs):
        return real_open(fake if path == "/proc/cpuinfo" else path, *args, **kwargs)

    monkeypatch.setattr("builtins.open", fake_open)
    assert report.cpu_model() == "Test CPU 9000 @ 1GHz"


def test_data_record_hashes_the_bytes(tmp_path):
    f = tmp_path / "train.tsv"
    f.write_bytes(b"BRCA1\tB\n")
    (rec,) = report.data_record([f])
    assert rec["bytes"] == 8 and rec["sha256"] == hashlib.sha256(b"BRCA1\tB\n").hexdigest()


def test_write_report_adds_environment_and_keeps_unicode(tmp_path):
    out = tmp_path / "sub" / "report.json"
    report.write_report(out, {"metrics": {"f1": 0.5}, "note": "TNF-α"})
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["metrics"] == {"f1": 0.5} and data["note"] == "TNF-α"
    assert data["environment"]["cpu"] == report.cpu_model() and "created" in data
    assert "TNF-α" in out.read_text(encoding="utf-8")


def _git(cwd, *args):
    import subprocess

    return subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, text=True, check=True).stdout.strip()


def test_git_state_names_the_commit_and_whether_tracked_files_changed(tmp_path, monkeypatch):
    import shutil

    import pytest

    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / "mod.py").write_text("x = 1\n")
    _git(repo, "add", "mod.py")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "one")
    head = _git(repo, "rev-parse", "HEAD")
    assert report.git_state(repo / "mod.py") == {"commit": head, "dirty": False}
    (repo / "new.txt").write_text("untracked files do not make a checkout dirty\n")
    assert report.git_state(repo / "mod.py")["dirty"] is False
    (repo / "mod.py").write_text("x = 2\n")
    assert report.git_state(repo / "mod.py") == {"commit": head, "dirty": True}
    # a file the checkout does not track (a virtualenv's copy inside a checkout), no checkout, no git: None, no error
    assert report.git_state(repo / "new.txt") == {"commit": None, "dirty": None}
    (tmp_path / "loose.py").write_text("")
    assert report.git_state(tmp_path / "loose.py") == {"commit": None, "dirty": None}
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert report.git_state(repo / "mod.py") == {"commit": None, "dirty": None}


def test_code_version_is_the_running_package_checkout():
    from pathlib import Path

    import biobert

    state = report.code_version()
    src = Path(biobert.__file__).parent
    if state["commit"] is not None:  # running from a checkout (as the tests do): its HEAD
        assert state["commit"] == _git(src, "rev-parse", "HEAD") and isinstance(state["dirty"], bool)


def test_encoder_identity_hashes_local_weights_once_and_reads_hub_revisions_offline(tiny_bert, tmp_path, monkeypatch):
    import shutil

    from tests.conftest import fake_hub_cache

    ident = report.encoder_identity(str(tiny_bert))
    assert ident["path"] == str(tiny_bert.resolve()) and ident["hub_revision"] is None
    assert ident["weights_sha256"] == {"model.safetensors": report.file_sha256(tiny_bert / "model.safetensors")}
    calls = []
    monkeypatch.setattr(report, "file_sha256", lambda p, *a: calls.append(p) or "x")
    copy = tmp_path / "enc"
    shutil.copytree(tiny_bert, copy)
    (copy / "pytorch_model.bin").write_bytes(b"old weights")
    first = report.encoder_identity(str(copy))
    assert set(first["weights_sha256"]) == {"model.safetensors", "pytorch_model.bin"}
    assert report.encoder_identity(str(copy)) == first and len(calls) == 2  # hashed once per process, not per call
    # a hub id: the commit the local cache resolves to, without the network; unknown ones and bad paths give None
    fake_hub_cache(tmp_path / "hub", "someorg/tiny", tiny_bert)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hub"))
    assert report.encoder_identity("someorg/tiny") == {"name": "someorg/tiny", "path": None, "weights_sha256": None,
                                                       "vocab_sha256": None, "hub_revision": "0" * 40}
    assert report.encoder_identity("someorg/not-cached")["hub_revision"] is None
    assert report.encoder_identity(str(tmp_path / "gone")) == {"name": str(tmp_path / "gone"), "path": None,
                                                               "weights_sha256": None, "vocab_sha256": None,
                                                               "hub_revision": None}
    assert report.encoder_identity(None) is None


def test_write_report_records_the_code_and_the_encoder(tiny_bert, tmp_path):
    out = tmp_path / "report.json"
    report.write_report(out, {"config": {"encoder": str(tiny_bert)}, "metrics": {}})
    data = json.loads(out.read_text(encoding="utf-8"))
    assert set(data["environment"]["biobert_git"]) == {"commit", "dirty"}
    assert data["encoder_identity"]["weights_sha256"]["model.safetensors"] == report.file_sha256(tiny_bert / "model.safetensors")
    report.write_report(out, {"metrics": {}})  # no encoder: recorded as none
    assert json.loads(out.read_text(encoding="utf-8"))["encoder_identity"] is None
