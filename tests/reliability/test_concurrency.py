"""One builder at a time; readers keep answering during a rebuild and move to the new
generation when it is complete, never mixing two."""
import shutil
import subprocess
import sys
import threading
import time

import pytest

import qa

from probes import SEEDS

HOLD = """
import sys, time, qa
def hold(point):
    if point == "planned":
        print("holding", flush=True)
        time.sleep(600)
qa.build_index(sys.argv[1], sys.argv[2], crash_hook=hold)
"""


def test_second_builder_fails_at_once_and_a_dead_one_frees_the_lock(seed_index_dir, tmp_path):
    index_dir = tmp_path / "index"
    shutil.copytree(seed_index_dir, index_dir)
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(SEEDS), str(index_dir)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        started = time.perf_counter()
        with pytest.raises(qa.BuildLockedError, match="a build is already running"):
            qa.build_index(SEEDS, index_dir)
        assert time.perf_counter() - started < 2
    finally:
        holder.kill()  # SIGKILL: the kernel releases its lock
        holder.wait()
    assert qa.build_index(SEEDS, index_dir).embedded == 0


def test_readers_keep_answering_during_a_rebuild(seed_index_dir, tmp_path):
    index_dir = tmp_path / "index"
    shutil.copytree(seed_index_dir, index_dir)
    source = tmp_path / "src"
    shutil.copytree(SEEDS, source)
    (source / "medusa.txt").write_text("Egypt and Greece held the Medusa naval exercise off Crete.", encoding="utf-8")
    index = qa.load_index(index_dir)
    first_generation = index.generation
    old_ids = set(index._snapshot.chunk_ids.tolist())
    errors, generations_seen = [], []
    done = threading.Event()

    def build():
        try:
            qa.build_index(source, index_dir, rebuild=True)
        finally:
            done.set()

    builder = threading.Thread(target=build)
    builder.start()
    answers = 0
    while not done.is_set() or answers < 3:
        try:
            answer = qa.ask("Egypt Türkiye drones co-production", index)
            generations_seen.append(index.generation)
            ids = {p.chunk_id for p in answer.citations + answer.related}
            new_ids = set(index._snapshot.chunk_ids.tolist())
            assert ids <= old_ids or ids <= new_ids, "an answer mixed two generations"
            answers += 1
        except Exception as exc:  # any failure while the build runs is a defect
            errors.append(repr(exc))
            break
    builder.join()
    assert errors == []
    index.refresh()
    assert index.generation != first_generation
    assert index.search("Medusa exercise off Crete", k=1)[0].doc_id == "medusa.txt"
    print(f"{answers} answers during the rebuild, generations seen: {sorted(set(generations_seen))}")
