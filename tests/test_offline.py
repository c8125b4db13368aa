"""Offline and connection-refused fail fast (issue 15): no network and no HF_HUB_OFFLINE must not cost a minute of
huggingface_hub retries; a refused LLM server is not retried. No real network: the socket module is patched (a Hub
whose every connection times out, as behind a firewall that drops packets)."""

from __future__ import annotations

import socket
import time

import pytest
from typer.testing import CliRunner

from dreamrunner_cli.errors import BackendUnavailable, ModelUnavailable
from dreamrunner_cli.models import loading

runner = CliRunner()


@pytest.fixture
def no_network(monkeypatch):
    """HF_HUB_OFFLINE unset and every TCP connection times out; returns the list of addresses tried."""
    import huggingface_hub.constants as hub_constants

    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_ENDPOINT", "HF_HUB_ETAG_TIMEOUT",
                 "HF_HUB_DOWNLOAD_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)  # restored (with the value conftest set) after the test
    for name in ("HF_HUB_OFFLINE", "HF_HUB_ETAG_TIMEOUT", "HF_HUB_DOWNLOAD_TIMEOUT"):
        monkeypatch.setattr(hub_constants, name, getattr(hub_constants, name))  # restored after the test
    hub_constants.HF_HUB_OFFLINE = False
    tried: list = []

    def timed_out(address, *args, **kwargs):
        tried.append(address)
        raise socket.timeout("timed out")

    monkeypatch.setattr(socket, "create_connection", timed_out)
    loading._reset_hub_probe()
    yield tried
    loading._reset_hub_probe()


def test_an_unreachable_hub_is_probed_once_and_the_process_goes_offline(no_network, caplog):
    import huggingface_hub.constants as hub_constants

    with caplog.at_level("WARNING", logger="dreamrunner"):
        assert loading.offline() is True
        assert loading.offline() is True
    assert no_network == [("huggingface.co", 443)]  # one probe, cached for the process
    assert hub_constants.HF_HUB_OFFLINE is True  # huggingface_hub, transformers and open_clip now read the cache only
    said = [r.getMessage() for r in caplog.records if "cannot be reached" in r.getMessage()]
    assert len(said) == 1 and "working offline" in said[0] and "HF_HUB_OFFLINE=1" in said[0]
    assert loading.offline_reason() == "the Hugging Face Hub cannot be reached"
    assert hub_constants.HF_HUB_ETAG_TIMEOUT == loading.HUB_TIMEOUTS["HF_HUB_ETAG_TIMEOUT"] < 10  # short, not 10 s


def test_a_reachable_hub_stays_online_and_hf_endpoint_is_probed(monkeypatch, no_network):
    import huggingface_hub.constants as hub_constants

    class Conn:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    tried = []
    monkeypatch.setattr(socket, "create_connection", lambda address, *a, **k: tried.append(address) or Conn())
    monkeypatch.setenv("HF_ENDPOINT", "http://hub.internal:8080")
    assert loading.offline() is False
    assert tried == [("hub.internal", 8080)] and hub_constants.HF_HUB_OFFLINE is False


def test_a_hanging_dns_lookup_is_not_waited_for(monkeypatch, no_network):
    def hangs(*args, **kwargs):
        time.sleep(3)
        raise socket.timeout("timed out")

    monkeypatch.setattr(socket, "create_connection", hangs)
    start = time.monotonic()
    assert loading.hub_reachable(timeout=0.2) is False
    assert time.monotonic() - start < 1.5


def test_hf_hub_offline_is_respected_without_probing(monkeypatch, no_network):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert loading.offline() is True and no_network == []
    assert loading.offline_reason() == "HF_HUB_OFFLINE=1"


def test_a_missing_model_fails_in_seconds_not_in_retries(no_network):
    """Without the probe, huggingface_hub retries each timed-out request (~25 s here for one config, ~50 s for
    open_clip weights; more with real timeouts)."""
    from transformers import AutoConfig, AutoImageProcessor, AutoModelForObjectDetection  # noqa: F401 - imports
    # are not what is timed

    from dreamrunner_cli.models.detector import _from_pretrained

    start = time.monotonic()
    with pytest.raises(ModelUnavailable) as info:
        _from_pretrained("dreamrunner-test/no-such-detector")
    assert time.monotonic() - start < 5
    assert no_network == [("huggingface.co", 443)], "only the probe: no request reached the (dead) network"
    assert "dreamrunner-test/no-such-detector" in info.value.message


def test_the_video_model_is_looked_up_in_the_cache_only_and_says_why(no_network):
    from dreamrunner_cli.adapt.identity import _hub_snapshot
    from dreamrunner_cli.config import resolve_config

    from diffusers import CogVideoXPipeline  # noqa: F401 - the import is not what is timed

    cfg = resolve_config(preset="cogvideox-2b").model.model_copy(update={"id": "dreamrunner-test/no-such-model"})
    start = time.monotonic()
    with pytest.raises(ModelUnavailable) as info:
        _hub_snapshot(cfg.id, cfg.revision, loading.offline())
    assert "the local Hugging Face cache (the Hugging Face Hub cannot be reached)" in info.value.message
    with pytest.raises(ModelUnavailable) as info:
        loading._from_pretrained(cfg)
    assert "offline: the Hugging Face Hub cannot be reached" in info.value.message
    assert time.monotonic() - start < 10
    assert no_network == [("huggingface.co", 443)]


# A refused LLM server ----------------------------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as s:  # a port nobody listens on (loopback only)
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_refused_llm_server_fails_at_once_with_exit_code_4(tmp_path):
    from dreamrunner_cli.cli import app

    story = tmp_path / "story.txt"
    story.write_text("Pip walks to the park. Pip sits on a bench.\n", encoding="utf-8")
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    start = time.monotonic()
    res = runner.invoke(app, ["plan", str(story), "--workspace", str(tmp_path / "ws"), "--preset", "tiny",
                              "--llm", "openai", "--llm-base-url", url, "--llm-model", "m",
                              "--set", "plan.max_retries=3", "--set", "plan.retry_backoff_s=1"])
    elapsed = time.monotonic() - start
    assert res.exit_code == 4, res.output
    assert f"cannot connect to {url}" in res.stderr and "connection refused" in res.stderr
    assert elapsed < 3, f"{elapsed:.1f} s: a refused connection was retried (1 + 2 + 4 s of backoff)"


def test_other_connection_errors_are_still_retried():
    """A timeout or a reset is transient: retried plan.max_retries times (only a refusal fails at once).

    A real server on the loopback that resets every connection (SO_LINGER 0), so the openai client raises its own
    APIConnectionError whatever its major version (openai 3 dropped ``APIConnectionError(request=None)``)."""
    import struct
    import threading

    from dreamrunner_cli.config import resolve_config
    from dreamrunner_cli.planning.backends import OpenAIBackend

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    accepted: list[int] = []
    stop = threading.Event()

    def reset_every_connection() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            accepted.append(1)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close → RST
            conn.recv(65536)
            conn.close()

    worker = threading.Thread(target=reset_every_connection, daemon=True)
    worker.start()
    try:
        url = f"http://127.0.0.1:{server.getsockname()[1]}/v1"
        cfg = resolve_config(preset="tiny", overrides=["plan.llm=openai", "plan.llm_model=m", "plan.max_retries=2",
                                                       "plan.retry_backoff_s=0", f"plan.llm_base_url={url}"]).plan
        with pytest.raises(BackendUnavailable) as info:
            OpenAIBackend(cfg).complete([{"role": "user", "content": "hi"}], "x", {})
    finally:
        stop.set()
        worker.join(2)
        server.close()
    assert len(accepted) == 3 and "gave up after 3 attempts" in info.value.message, (accepted, info.value.message)
