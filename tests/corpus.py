"""Where the test corpus lives and the seed articles' ids (imported by tests as `corpus`)."""
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
DATA = Path(__file__).resolve().parent / "data"
TURKEY_EN = "000_5e926bf560c9b563.txt"
PAKISTAN = "001_1ca882c574d82c6e.txt"
TURKEY_MEETING = "002_1cad00cccf0116c6.txt"
TURKEY_AR = "003_5c8391c0744fe983.txt"
RUSSIA = "004_c3fd7604f82b1289.txt"
