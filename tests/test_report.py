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
