"""Backend selection (brokers.py): URLs, client settings, the options of every store command,
and that the embedded store's start-up never imports the Kafka client."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from sscc.runtime_stub.sscc_runtime import brokers


def test_urls_name_servers_and_settings():
    assert brokers.parse("kafka://a:9092,b:9093") == ("kafka", "a:9092,b:9093", {})
    assert brokers.parse("KAFKA://a:1?client.id=x") == ("kafka", "a:1", {"client.id": "x"})
    for bad in ("redis://a:1", "kafka://", "kafka://user:pw@a:1", "a:9092"):
        with pytest.raises(brokers.BrokerError):
            brokers.parse(bad)


def test_properties_file_then_x_pairs(tmp_path):
    path = tmp_path / "client.properties"
    path.write_text("# SASL\nsecurity.protocol=SASL_SSL\nsasl.mechanism: PLAIN\n\n! comment\nsasl.username = me\n")
    assert brokers.settings(str(path), ["sasl.username=you", "x=a=b"]) == {
        "security.protocol": "SASL_SSL", "sasl.mechanism": "PLAIN", "sasl.username": "you", "x": "a=b"}
    path.write_text("no separator here\n")
    with pytest.raises(brokers.BrokerError, match=r"client.properties:1"):
        brokers.settings(str(path), [])
    with pytest.raises(brokers.BrokerError, match="expected key=value"):
        brokers.settings(None, ["novalue"])


@pytest.mark.parametrize("command", [
    ["topic", "produce", "t"], ["topic", "consume", "t"], ["topic", "list"], ["topic", "create", "t"],
    ["state", "list"], ["state", "show", "s"], ["sql", "select 1"],
])
def test_every_store_command_takes_a_broker(command):
    proc = subprocess.run(["sscc", *command, "--broker", "redis://x:1"], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert proc.returncode == 1 and "unknown scheme (known: kafka://, nats://)" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


def test_settings_without_a_broker_are_refused(tmp_path):
    proc = subprocess.run(["sscc", "topic", "create", "t", "-X", "a=b", "--store", str(tmp_path)], capture_output=True, text=True,
                          env={k: v for k, v in os.environ.items() if k != "SSCC_BROKER"})
    assert proc.returncode == 1 and "need a broker" in proc.stderr


def test_the_embedded_store_never_imports_the_kafka_client(tmp_path):
    code = ("import sys; from sscc.runtime_stub.sscc_runtime import app; "
            "app.main(['topic', 'list', '--store', sys.argv[1]]); "
            "print('confluent_kafka' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "False"


def test_a_broker_that_does_not_answer_is_one_error_line():
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    pytest.importorskip("confluent_kafka")
    proc = subprocess.run(["sscc", "topic", "list", "--broker", f"kafka://127.0.0.1:{port}", "-X", "socket.connection.setup.timeout.ms=1000"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.startswith("error: kafka:") and "Traceback" not in proc.stderr, proc.stderr
