"""A build that SIGKILLs itself at a labelled point: `python crashy_build.py SOURCE INDEX POINT [--rebuild]`.

POINT is one of build_index's crash-hook labels, or "embedding" (killed while embedding, from
the progress callback), or "none" (a normal build, used to time one).
"""
import os
import signal
import sys

import qa


def main() -> None:
    source, index, point = sys.argv[1:4]
    rebuild = "--rebuild" in sys.argv

    def die_at(label: str) -> None:
        if label == point:
            os.kill(os.getpid(), signal.SIGKILL)

    def progress(stage: str, done: int, total: int) -> None:
        if point == "embedding" and stage == "embedding":
            os.kill(os.getpid(), signal.SIGKILL)

    qa.build_index(source, index, rebuild=rebuild, crash_hook=die_at, progress=progress)


if __name__ == "__main__":
    main()
