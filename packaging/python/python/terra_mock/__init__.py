"""terra-mock for Python tests: the emulator of DJI TerraAPI v2, started on a free
loopback port with a private state folder, and its control API as methods.

    from terra_mock import TerraMock

    with TerraMock() as mock:
        headers = mock.sign("POST", "/terra-rescon-be/v2/store/obtain_token")
        mock.advance(3600)  # an hour passes: jobs move on

With pytest, the plugin this package registers gives the fixtures ``terra_mock`` (state
reset before each test) and ``terra_mock_server`` (one server per session, or per
pytest-xdist worker).
"""
from ._client import ApiError, ControlError, TerraMock, find_binary, sign

__all__ = ["ApiError", "ControlError", "TerraMock", "find_binary", "sign"]
