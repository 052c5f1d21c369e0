"""``python -m terra_mock serve ...``: the bundled binary's own command line."""
import os
import subprocess
import sys

from ._client import find_binary


def main() -> int:
    binary = str(find_binary())
    if os.name == "posix":
        os.execv(binary, [binary, *sys.argv[1:]])
    return subprocess.call([binary, *sys.argv[1:]])


if __name__ == "__main__":
    sys.exit(main())
