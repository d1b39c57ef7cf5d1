"""Run a command as if this CPU had AVX2 and nothing newer (no AVX-512, AVX-VNNI, bf16, AMX).

    python bench/avx2_only prepare [--venv .venv] [--to /tmp/qa-avx2-venv]
    python bench/avx2_only run [--to /tmp/qa-avx2-venv] -- python bench/speed.py --limit 800 ...
    python bench/avx2_only check [--to /tmp/qa-avx2-venv]

Issue 13 sets speed goals for CPUs without native bf16 (AVX2-only laptops and servers), and
this machine has AVX-512 with bf16 and VNNI. torch, numpy and faiss have switches to cap the
instruction sets they use, ONNX Runtime has none, and CPUID faulting (which would let one
process see another CPU) is not offered by this VM. So `prepare` copies the venv and rewrites
every `cpuid` instruction in its native libraries into `ud2`; `run` preloads cpuid_cap.so,
which answers each of those with the real CPUID minus the feature bits above AVX2 (see
cpuid_cap.c). Every library then picks the kernels it would pick on an AVX2-only CPU of this
microarchitecture (Zen 4 here: 256-bit units like Zen 2/3, so AVX2 kernels run at a similar
per-clock speed; caches and clocks differ). `run` also caps glibc's string functions and says
how many CPUID calls it answered; `check` prints what the libraries see.

Nothing here touches the project's own venv; the copy is about 3 GB.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
TABLE = "cpuid-sites.txt"
PRELOAD = "cpuid_cap.so"
GLIBC_CAP = "glibc.cpu.hwcaps=-AVX512F,-AVX512CD,-AVX512BW,-AVX512DQ,-AVX512VL,-AVX_VNNI"


def prepare(source: Path, target: Path) -> None:
    if (target / TABLE).is_file():
        print(f"{target} is ready")
        return
    if not (source / "bin" / "python").exists():
        raise SystemExit(f"no venv at {source}: run bash scripts/install.sh --test first")
    shutil.rmtree(target, ignore_errors=True)
    print(f"copying {source} to {target} ...", flush=True)
    shutil.copytree(source, target, symlinks=True)
    _rewrite_scripts(source.resolve(), target)
    libraries = [p for p in target.rglob("*.so*") if p.is_file() and not p.is_symlink() and _has_opcode(p)]
    print(f"disassembling {len(libraries)} libraries that hold the bytes of cpuid ...", flush=True)
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        found = list(pool.map(_cpuid_sites, libraries))
    lines = []
    for library, sites in zip(libraries, found):
        if sites:
            _patch(library, sites)
            lines += [f"{library.name} {address:x}" for address, _ in sites]
            print(f"  {library.relative_to(target)}: {len(sites)} cpuid", flush=True)
    subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-o", str(target / PRELOAD), str(HERE / "cpuid_cap.c"),
                    "-ldl"], check=True)
    (target / TABLE).write_text("\n".join(lines) + "\n")  # last: its presence means the copy is ready
    print(f"patched {len(lines)} cpuid instructions; run commands with: python bench/avx2_only run -- ...")


def _rewrite_scripts(source: Path, target: Path) -> None:
    """Console scripts name the source venv's python in their first line."""
    for script in (target / "bin").iterdir():
        if script.is_file() and not script.is_symlink():
            head = script.read_bytes()[:256]
            if head.startswith(b"#!") and str(source).encode() in head.split(b"\n")[0]:
                script.write_bytes(script.read_bytes().replace(str(source).encode(), str(target).encode(), 1))


def _has_opcode(path: Path) -> bool:
    try:
        return path.read_bytes().find(b"\x0f\xa2") >= 0 and path.read_bytes()[:4] == b"\x7fELF"
    except OSError:
        return False


def _cpuid_sites(library: Path) -> list[tuple[int, int]]:
    """(virtual address, file offset) of each cpuid instruction objdump finds in the code."""
    listing = subprocess.run(["objdump", "-d", "--no-show-raw-insn", str(library)], capture_output=True,
                             text=True, errors="replace").stdout
    addresses = [int(m.group(1), 16) for m in re.finditer(r"^\s*([0-9a-f]+):\s+cpuid\s*$", listing, re.M)]
    if not addresses:
        return []
    segments = []  # (virtual address, file offset, size) of each loadable segment
    for line in subprocess.run(["readelf", "-lW", str(library)], capture_output=True, text=True).stdout.splitlines():
        parts = line.split()
        if parts[:1] == ["LOAD"]:
            segments.append((int(parts[2], 16), int(parts[1], 16), int(parts[4], 16)))
    sites = []
    for address in addresses:
        for virtual, offset, size in segments:
            if virtual <= address < virtual + size:
                sites.append((address, address - virtual + offset))
                break
    return sites


def _patch(library: Path, sites: list[tuple[int, int]]) -> None:
    data = bytearray(library.read_bytes())
    for address, offset in sites:
        if data[offset:offset + 2] != b"\x0f\xa2":
            raise SystemExit(f"{library} at {address:x}: not a cpuid instruction; nothing patched there")
        data[offset:offset + 2] = b"\x0f\x0b"
    library.write_bytes(bytes(data))


def environment(target: Path) -> dict:
    if not (target / TABLE).is_file():
        raise SystemExit(f"{target} is not prepared: python bench/avx2_only prepare --to {target}")
    return {**os.environ, "LD_PRELOAD": str(target / PRELOAD), "CPUID_CAP_TABLE": str(target / TABLE),
            "GLIBC_TUNABLES": GLIBC_CAP, "QA_BENCH_CPU_CAP": "avx2",
            "VIRTUAL_ENV": str(target), "PATH": f"{target / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"}


def run(target: Path, command: list[str]) -> int:
    if command[:1] == ["python"]:
        command = [str(target / "bin" / "python"), *command[1:]]
    return subprocess.run(command, env={**environment(target), "CPUID_CAP_VERBOSE": "1"}).returncode


CHECK = """
import numpy, torch, faiss
from numpy._core._multiarray_umath import __cpu_features__ as f
print("numpy sees AVX2", f["AVX2"], "AVX512F", f["AVX512F"])
print("torch capability", torch.backends.cpu.get_cpu_capability(),
      "native bf16", torch.cpu._is_avx512_bf16_supported(), "AMX", torch.cpu._is_amx_tile_supported())
print("faiss module", faiss.swigfaiss.__name__ if hasattr(faiss, "swigfaiss") else faiss.__name__,
      [m for m in ("swigfaiss_avx512", "swigfaiss_avx512_spr", "swigfaiss_avx2") if hasattr(faiss, m)])
import onnxruntime
print("onnxruntime", onnxruntime.__version__, "loaded")
"""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("action", choices=["prepare", "run", "check"])
    p.add_argument("--venv", type=Path, default=ROOT / ".venv")
    p.add_argument("--to", type=Path, default=Path("/tmp/qa-avx2-venv"))
    argv = sys.argv[1:] if argv is None else argv
    split = argv.index("--") if "--" in argv else len(argv)  # the command follows "--"
    args, command = p.parse_args(argv[:split]), argv[split + 1:]
    if args.action == "prepare":
        prepare(args.venv, args.to)
        return 0
    if args.action == "check":
        return run(args.to, ["python", "-c", CHECK])
    if not command:
        p.error("run what? python bench/avx2_only run -- COMMAND ...")
    return run(args.to, command)


if __name__ == "__main__":
    sys.exit(main())
