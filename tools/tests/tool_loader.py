"""Loads the repository's Python tools, scripts without a .py suffix, as modules for their tests."""

import importlib.machinery
import importlib.util
import sys
from pathlib import Path

TOOLS = Path(__file__).resolve().parent.parent


def load_tool(name, module_name):
    """Imports tools/`name` as `module_name`, without writing bytecode next to it.

    The module is registered in sys.modules first: dataclasses look their module up there.
    """
    loader = importlib.machinery.SourceFileLoader(module_name, str(TOOLS / name))
    spec = importlib.util.spec_from_loader(module_name, loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    previous, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = previous
    return module
