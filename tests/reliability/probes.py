"""What the reliability tests compare: fingerprints of what an index answers."""
from pathlib import Path

import qa

SEEDS = Path(__file__).resolve().parents[2] / "seeds"

PROBES = ["What has Egypt co-produced with Türkiye?", "Pakistan army chief talks in Cairo",
          "القوات الجوية المصرية", "Medusa naval exercise off Crete"]
EXTRA = """Egypt and Greece hold joint naval exercise Medusa

Egyptian and Greek navies concluded the Medusa joint exercise off the island of Crete on Monday,
practising anti-submarine warfare and search-and-rescue drills with frigates and helicopters.
"""


def fingerprint(index_dir) -> list:
    """Everything a user would see for the probe queries: passages and answers."""
    index = qa.load_index(index_dir)
    seen = []
    for q in PROBES:
        seen.append([(p.doc_id, p.start, p.end, round(p.score, 6)) for p in index.search(q, k=5)])
        seen.append(qa.ask(q, index).text)
    return seen


