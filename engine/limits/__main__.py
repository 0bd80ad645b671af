"""`python -m engine.limits FD MEMORY_BYTES MODULE...`: a sandbox worker; imports the modules, then serves on FD."""

import importlib
import sys
from multiprocessing.connection import Connection

from engine.limits.worker import serve

if __name__ == "__main__":
    for module in sys.argv[3:]:
        importlib.import_module(module)
    serve(Connection(int(sys.argv[1])), int(sys.argv[2]))
