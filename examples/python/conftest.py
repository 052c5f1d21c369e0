"""A pytest fixture that runs terra-mock for the tests of a TerraAPI integration: the
standalone binary on a free port, with its control API (`/_terra-mock/v1`) at hand.

The binary is `$TERRA_MOCK_BIN`, or `terra-mock` on the PATH (`cargo install --path
terra-mock`)."""
import json
import os
import shutil
import subprocess
import urllib.error
import urllib.request

import pytest


class Mock:
    def __init__(self, base):
        self.base = base
        self.control_base = base + "/_terra-mock/v1"

    def control(self, method, path, body=None):
        """One control call; returns the parsed answer (None for 204)."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.control_base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                raw = r.read()
        except urllib.error.HTTPError as e:
            raise AssertionError(f"{method} {path}: {e.code} {e.read().decode()}") from None
        return json.loads(raw) if raw else None


@pytest.fixture
def mock():
    binary = os.environ.get("TERRA_MOCK_BIN") or shutil.which("terra-mock")
    if not binary:
        pytest.skip("no terra-mock binary: set TERRA_MOCK_BIN or `cargo install --path terra-mock`")
    proc = subprocess.Popen([binary, "serve", "--addr", "127.0.0.1:0"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        # The first line is `terra-mock listening on http://127.0.0.1:PORT`.
        first = proc.stdout.readline()
        assert first.startswith("terra-mock listening on "), first
        yield Mock(first.split()[-1])
    finally:
        proc.terminate()
        proc.wait(timeout=10)
