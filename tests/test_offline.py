"""No network call at run time: the model, the suffix list and everything else load offline."""

import json
import socket
from pathlib import Path

import pytest

from conftest import dataset_args, read_jsonl, run_cli
import detectors.engine
from scanner.core.errors import EXIT_OK


@pytest.fixture
def network_attempts(monkeypatch, tmp_path):
    """Record (and refuse) every attempt to resolve a name or open an internet socket."""
    attempts = []

    def refuse(what):
        def blocked(*args, **kwargs):
            attempts.append((what, args[1:2] if what == "connect" else args[:1]))
            raise OSError(f"network blocked by test: {what}")
        return blocked

    real_connect = socket.socket.connect

    def connect(sock, address):
        if sock.family == socket.AF_UNIX:
            return real_connect(sock, address)
        return refuse("connect")(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", lambda sock, address: connect(sock, address))
    monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
    monkeypatch.setattr(socket, "create_connection", refuse("create_connection"))
    # An empty suffix-list cache: tldextract's default would try to download the list here.
    monkeypatch.setenv("TLDEXTRACT_CACHE", str(tmp_path / "tldextract-cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    return attempts


def test_a_scan_makes_no_network_call(network_attempts, demo_data, tmp_path, monkeypatch):
    from detectors.offline import offline_tldextract

    monkeypatch.setattr(detectors.engine, "_ENGINES", {})  # load the model inside the blocked window
    offline_tldextract.cache_clear()
    result = run_cli("scan", *dataset_args(demo_data), "--full", "--out", tmp_path)
    assert result.exit_code == EXIT_OK, result.output
    assert network_attempts == []
    emails = [f for f in read_jsonl(tmp_path / "findings.jsonl") if f["entity_type"] == "EMAIL_ADDRESS"]
    assert emails  # the email recognizer, which consults the suffix list, did run


def test_the_guard_would_see_a_suffix_list_download(network_attempts):
    import tldextract

    tldextract.TLDExtract(cache_dir=None)("someone@example.co.uk")  # the library's default: online
    assert network_attempts


def test_vector_store_scans_make_no_network_call(tmp_path, monkeypatch):
    from fixtures.vectors import generate_vectors

    paths = generate_vectors(tmp_path / "stores", n=60, seed=3)  # built before the guard goes up
    attempts = []
    real_connect = socket.socket.connect

    def connect(sock, address):
        if sock.family == socket.AF_UNIX:
            return real_connect(sock, address)
        attempts.append(address)
        raise OSError("network blocked by test")

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: attempts.append(a) or (_ for _ in ()).throw(OSError()))
    result = run_cli("scan", f"qdrant:{paths['qdrant']}?collection=support_kb",
                     f"chroma:{paths['chroma']}?collection=support_kb&name=kb-chroma", "--full", "--out", tmp_path / "out")
    assert result.exit_code == EXIT_OK, result.output
    assert attempts == []


def test_a_redaction_with_pseudonyms_makes_no_network_call(network_attempts, demo_data, tmp_path, monkeypatch):
    monkeypatch.setattr(detectors.engine, "_ENGINES", {})
    (tmp_path / "redact.yaml").write_text("redact:\n  operators:\n    DEFAULT: {type: pseudonym}\n")
    result = run_cli("redact", *dataset_args(demo_data), "--config", tmp_path / "redact.yaml", "--out", tmp_path / "o")
    assert result.exit_code == EXIT_OK, result.output
    assert network_attempts == []
    assert (tmp_path / "o" / "redacted" / "support_eval" / "support_eval.jsonl").is_file()


def test_lance_milvus_and_delta_scans_make_no_network_call(network_attempts, tmp_path):
    from test_lakehouse import make_delta, make_lance, make_milvus
    from test_sql import planted

    rows = planted()
    uris = [make_lance(tmp_path / "lance", rows), make_milvus(tmp_path / "m.db", rows),
            make_delta(tmp_path / "delta", rows)]
    result = run_cli("scan", *uris, "--full", "--entities", "EMAIL_ADDRESS", "--out", tmp_path / "out")
    assert result.exit_code == EXIT_OK, result.output
    assert network_attempts == []


def test_lance_milvus_and_delta_scans_work_without_any_network(tmp_path):
    """In a network namespace with nothing but loopback: what the clients do outside Python (Rust, gRPC
    and the Milvus Lite process) cannot reach a network either."""
    import shutil
    import subprocess
    import sys

    from test_lakehouse import make_delta, make_lance, make_milvus
    from test_sql import planted

    if subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode != 0:
        pytest.skip("no network namespaces here (unshare -n)")
    rows = planted()
    uris = [make_lance(tmp_path / "lance", rows), make_milvus(tmp_path / "m.db", rows),
            make_delta(tmp_path / "delta", rows)]
    dhscan = shutil.which("dhscan", path=str(Path(sys.executable).parent))
    done = subprocess.run(["unshare", "-n", "sh", "-c", 'ip link set lo up 2>/dev/null; exec "$@"', "-", dhscan,
                           "scan", *uris, "--full", "--entities", "EMAIL_ADDRESS", "--out", str(tmp_path / "out"),
                           "--json"], capture_output=True, text=True, timeout=300)
    assert done.returncode == EXIT_OK, done.stderr[-2000:]
    assert all(s["status"] == "ok" for s in json.loads(done.stdout)["sources"].values())
    assert done.stderr == ""  # nor do the clients' own warnings reach the terminal
