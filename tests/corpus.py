"""Where the test corpus lives and the seed articles' ids (imported by tests as `corpus`), and
how tests load a benchmark script (bench/ is not a package)."""
import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
DATA = Path(__file__).resolve().parent / "data"
TURKEY_EN = "000_5e926bf560c9b563.txt"
PAKISTAN = "001_1ca882c574d82c6e.txt"
TURKEY_MEETING = "002_1cad00cccf0116c6.txt"
TURKEY_AR = "003_5c8391c0744fe983.txt"
RUSSIA = "004_c3fd7604f82b1289.txt"
BENCH = ROOT / "bench"


def load_bench(name: str):
    """bench/NAME.py as a module (bench/ on sys.path first, for the modules it imports)."""
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module
