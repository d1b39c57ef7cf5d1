"""The web app as an attacker on this machine sees it: file routes, authentication, binding,
upload limits, and a bounded load test. All traffic stays on 127.0.0.1."""
import json
import shutil
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request

import pytest

from corpus import ROOT, SEEDS

sys.path.insert(0, str(ROOT / "bench"))
from serving import free_port, running_server  # noqa: E402


@pytest.fixture(scope="module")
def app(seed_index_dir, tmp_path_factory):
    work = tmp_path_factory.mktemp("web")
    source, index = work / "articles", work / "index"
    shutil.copytree(SEEDS, source)
    shutil.copytree(seed_index_dir, index)
    with running_server(index, source, work / "serve.log") as url:
        yield {"url": url, "source": source, "index": index, "log": work / "serve.log"}


def fetch(url: str, data: bytes | None = None, headers: dict | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def probes(app) -> dict[str, tuple[str, bytes]]:
    """Paths that must never be served, and a marker of their content."""
    generation = json.loads((app["index"] / "CURRENT").read_text())["generation"]
    store = app["index"] / generation / "store.sqlite"
    article = app["source"] / "000_5e926bf560c9b563.txt"
    return {
        "index database": (str(store), b"SQLite format"),
        "index pointer": (str(app["index"] / "CURRENT"), b"generation"),
        "article in the source folder": (str(article), b"Cairo and Ankara"),
        "/etc/passwd": ("/etc/passwd", b"root:"),
        "relative ../ escape": ("../../../../../../etc/passwd", b"root:"),
        "encoded ../ escape": ("..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd", b"root:"),
        "project source": (str(ROOT / "qa" / "index.py"), b"import"),
        "project README": (str(ROOT / "README.md"), b"qa"),
    }


ROUTES = ["gradio_api/file={}", "file={}", "gradio_api/file/{}", "static/{}", "assets/{}"]


def test_file_routes_refuse_everything_outside_the_app(app):
    refused = total = 0
    served = []
    for name, (path, marker) in probes(app).items():
        for route in ROUTES:
            quoted = path if "%" in path else urllib.parse.quote(path)
            status, body = fetch(app["url"] + route.format(quoted))
            total += 1
            if status == 200 and marker in body:
                served.append(f"{name} via {route}")
            else:
                refused += 1
    print(f"file-route probes refused {refused}/{total}")
    assert served == []


def test_binds_loopback_only_by_default(app):
    port = urllib.parse.urlparse(app["url"]).port
    out = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True)
    if out.returncode != 0:
        pytest.skip("ss is not available")
    local_addresses = [line.split()[3] for line in out.stdout.splitlines() if line.strip()]
    assert local_addresses == [f"127.0.0.1:{port}"]


def test_public_host_prints_a_warning_and_auth_is_enforced(seed_index_dir, tmp_path):
    source, index = tmp_path / "articles", tmp_path / "index"
    shutil.copytree(SEEDS, source)
    shutil.copytree(seed_index_dir, index)
    log = tmp_path / "serve.log"
    with running_server(index, source, log, "--auth", "analyst:s3cret-pass") as url:
        status, body = fetch(url + "config")
        assert status in (401, 403) or b"auth_required" in body
        assert b"Cairo and Ankara" not in body
        from gradio_client import Client

        with pytest.raises(Exception):
            Client(url, verbose=False).predict("drones", [], 5, "hybrid", None, api_name="/ask")
        client = Client(url, auth=("analyst", "s3cret-pass"), verbose=False)
        reply = client.predict("What has Egypt co-produced with Türkiye?", [], 5, "hybrid", None, api_name="/ask")
        assert reply["answered"] and "[1]" in reply["text"]
    # --host 0.0.0.0 (bound only for a moment; no traffic is sent to it).
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "qa.cli", "serve", "--index", str(index), "--source", str(source),
                             "--host", "0.0.0.0", "--port", str(port)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        first = proc.stdout.readline()
    finally:
        proc.kill()
        proc.wait()
    assert "warning" in first and "0.0.0.0" in first


def test_upload_size_limit_is_enforced_by_the_server(app):
    boundary = "qa-test-boundary"
    big = b"a" * (10_000_000 + 1024)
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"big.txt\"\r\n"
            f"Content-Type: text/plain\r\n\r\n").encode() + big + f"\r\n--{boundary}--\r\n".encode()
    status, reply = fetch(app["url"] + "gradio_api/upload", data=body,
                          headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert status in (400, 413), (status, reply[:200])
    assert not list((app["source"]).rglob("big.txt"))


def test_bounded_load(app):
    from load import simulate

    result = simulate(app["url"], users=4, seconds=8)
    print(f"load smoke: {result['answered']} answered, {result['errors']} errors, "
          f"p50 {result['p50_s']:.2f}s p95 {result['p95_s']:.2f}s")
    assert result["errors"] == 0, result["error_samples"]
    assert result["answered"] >= 4


# (history, k, mode, where) sent to /ask, and what the error must name.
BAD_ASKS = {
    "k as a word": (None, "five", "hybrid", None, "k must be a whole number from 1 to 50"),
    "k missing": (None, None, "hybrid", None, "got None"),
    "k of a billion": (None, 10**9, "hybrid", None, "got 1000000000"),
    "k a fraction": (None, 2.5, "hybrid", None, "k must be"),
    "unknown mode": (None, 5, "fuzzy", None, "unknown search mode"),
    "language a number": (None, 5, "hybrid", {"lang": 5}, "filter lang takes a text"),
    "language an operator": (None, 5, "hybrid", {"lang": {"$ne": "x"}}, "filter lang takes a text"),
    "unknown filter": (None, 5, "hybrid", {"colour": "red"}, "unknown filter"),
    "month 13": (None, 5, "hybrid", {"date_from": "2025-13-45"}, "not a calendar date"),
    "30 February": (None, 5, "hybrid", {"date_to": "2025-02-30"}, "not a calendar date"),
    "yesterday, with a language": (None, 5, "hybrid", {"lang": "ar", "date_from": "yesterday"}, "date_from"),
    "dates reversed": (None, 5, "hybrid", {"date_from": "2025-06", "date_to": "2025-05"}, "is after"),
    "history a string": ("What?", 5, "hybrid", None, "history must be a list"),
    "history turn of one": ([["What?"]], 5, "hybrid", None, "history turn 1"),
}


def test_bad_requests_get_a_clean_error_and_one_log_line_each(app):
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    client = Client(app["url"], verbose=False)
    logged_before = app["log"].read_text().count("\n")
    for name, (history, k, mode, where, expected) in BAD_ASKS.items():
        with pytest.raises(AppError) as err:
            client.predict("What has Egypt co-produced with Türkiye?", history, k, mode, where, api_name="/ask")
        message = str(err.value)
        assert expected in message and "\n" not in message.strip(), (name, message)
        assert "Traceback" not in message and "Error(" not in message, (name, message)
    reply = client.predict("What did Egypt and Pakistan discuss in the Cairo defence meetings?", None, 50, "hybrid",
                           {"date_to": "2025-10"}, api_name="/ask")
    assert reply["citations"], "the largest k and a partial date (to the end of October) are accepted"
    log = app["log"].read_text()
    new_lines = log.splitlines()[logged_before:]
    refused = [line for line in new_lines if line.startswith("qa: /ask refused: ")]
    assert len(refused) == len(BAD_ASKS), new_lines
    assert "Traceback" not in log
