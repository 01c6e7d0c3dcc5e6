"""Speed of anubad beside its peer engines (issue 12): HF transformers and
CTranslate2 (f32 and int8), on the same random model, the same source ids and
the same fixed output length, in one table.

For each model shape (Marian at opus-mt-bn-en's size, M2M100 at
NLLB-200-distilled-600M's, T5 v1.1 at BanglaT5's; the dimensions of
`src/bench/mod.rs`), the script

1. builds a seeded random transformers model and `save_pretrained`s it, with
   a word-level `tokenizer.json` whose token i is the model's id i (only
   CTranslate2's converter reads it: CTranslate2 takes tokens, not ids);
2. converts it with `ct2-transformers-converter` twice: as it is (f32) and
   with `--quantization int8`;
3. writes the source ids (the same xorshift ids as `anubad bench`: 30
   tokens, the last one end-of-sequence) to `source_ids.txt`;
4. for each row (batch size x beams), runs every engine back to back, each
   in its own process, so that its peak RSS (the child's ru_maxrss, from
   wait4) is its own: transformers `generate()` in f32, CTranslate2 f32 and
   int8 (`translate_batch`), and `anubad bench --model-dir --source-ids` once
   per anubad mode; `--repeats N` runs all of them N times in rounds and
   keeps each engine's median speed.

Every sentence produces exactly `--output-tokens` tokens in every engine: no
end token is allowed before that length (transformers `min_new_tokens`,
CTranslate2 `min_decoding_length`, and anubad bench stops on no token at
all), the padding id is never generated (`bad_words_ids` /
`suppress_sequences`; Marian's converted vocabulary has no padding token),
and nothing is forced. The Python engines check the length of every output
and fail otherwise. Timings exclude loading and one warm-up sentence, as
`anubad bench`'s do; target tokens/s is sentences x output tokens / seconds.

Run the full comparison from the repository root with a release binary (on
a quiet machine; each row's engines run back to back, so a noisy neighbour
hits them alike, but rows and runs are still not comparable across
machines):

    python3 -m venv /work/venv-peers
    /work/venv-peers/bin/pip install -r scripts/requirements-peers.txt
    cargo build --release
    /work/venv-peers/bin/python scripts/bench_peers.py \\
        --anubad-bin "${CARGO_TARGET_DIR:-target}/release/anubad" --threads 2 > peers.md

(`--models opus-mt,nllb-600m,banglat5` adds BanglaT5's shape. NLLB-600M's
shape is 2.5 GB in f32: with its two conversions, expect 6-7 GB under
`--work-dir` and several GB of memory while converting; estimates, not
measured.) `--anubad-modes` names anubad's variants: `f32`, `bf16`, `q8_0`,
`int8` (the `--precision`/`--quantize` flags they stand for) or
`NAME=FLAGS...` for anything else, e.g. `--anubad-modes
'f32,q8_0,int8=--quantize int8'`. A mode the binary does not know shows as
"failed" with its error on stderr. `--busy` adds a busy-looping process for
the whole measurement, to see how each engine copes with a CPU taken away.
`--quick` is a smoke test of the plumbing only (shrunken dimensions, 4
sentences, 8 output tokens): never publish its numbers.

Models and conversions are kept in `--work-dir` and reused while their
description (shape, seed, package versions) is unchanged.
"""

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCRIPT = Path(__file__).resolve()
REPO = SCRIPT.parent.parent
SEED = 0

# The dimensions of opus_mt_base_config, nllb_600m_config and banglat5_config
# in src/bench/mod.rs (and scripts/bench_transformers.py).
SHAPES = {
    "opus-mt": {
        "describe": "Marian at opus-mt-bn-en's size",
        "family": "marian",
        "config": dict(
            vocab_size=58101, d_model=512, encoder_layers=6, decoder_layers=6,
            encoder_attention_heads=8, decoder_attention_heads=8,
            encoder_ffn_dim=2048, decoder_ffn_dim=2048, activation_function="swish",
            max_position_embeddings=512, pad_token_id=58100, eos_token_id=0,
            decoder_start_token_id=58100, scale_embedding=True,
        ),
        "quick": dict(
            d_model=64, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4,
            decoder_attention_heads=4, encoder_ffn_dim=128, decoder_ffn_dim=128,
        ),
    },
    "nllb-600m": {
        "describe": "M2M100 at NLLB-200-distilled-600M's size",
        "family": "m2m_100",
        "config": dict(
            vocab_size=256206, d_model=1024, encoder_layers=12, decoder_layers=12,
            encoder_attention_heads=16, decoder_attention_heads=16,
            encoder_ffn_dim=4096, decoder_ffn_dim=4096, activation_function="relu",
            max_position_embeddings=1024, scale_embedding=True, pad_token_id=1,
            bos_token_id=0, eos_token_id=2, decoder_start_token_id=2,
            tie_word_embeddings=True,
        ),
        "quick": dict(
            d_model=64, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4,
            decoder_attention_heads=4, encoder_ffn_dim=128, decoder_ffn_dim=128,
        ),
    },
    "banglat5": {
        "describe": "T5 v1.1 at BanglaT5's size",
        "family": "t5",
        "config": dict(
            vocab_size=32128, d_model=768, d_kv=64, d_ff=2048, num_layers=12,
            num_decoder_layers=12, num_heads=12, feed_forward_proj="gated-gelu",
            tie_word_embeddings=False, pad_token_id=0, eos_token_id=1,
            decoder_start_token_id=0,
        ),
        "quick": dict(d_model=64, d_kv=16, d_ff=128, num_layers=2, num_decoder_layers=2,
                      num_heads=4),
    },
}

# Special tokens at the ids each family's real tokenizer gives them, so that
# the converter finds its end, unknown and start tokens where the config says.
SPECIAL_TOKENS = {
    "marian": {0: "</s>", 1: "<unk>", "pad": "<pad>"},
    "m2m_100": {0: "<s>", 1: "<pad>", 2: "</s>", 3: "<unk>"},
    "t5": {0: "<pad>", 1: "</s>", 2: "<unk>"},
}

ANUBAD_MODES = {
    "f32": [],
    "bf16": ["--precision", "bf16"],
    "f16": ["--precision", "f16"],
    "q8_0": ["--quantize", "q8_0"],
    "int8": ["--quantize", "int8"],
}

PACKAGES = ["torch", "transformers", "ctranslate2", "tokenizers", "safetensors"]


def log(message):
    print(message, file=sys.stderr, flush=True)


def sources(count, length, vocab, eos):
    """The same xorshift sequence as `sources` in src/bench/mod.rs: ids 3.. then
    the end-of-sequence id, so no special token mid-sentence."""
    state = 0x9E3779B97F4A7C15
    mask = (1 << 64) - 1
    out = []
    for _ in range(count):
        ids = []
        for _ in range(max(length - 1, 0)):
            state ^= (state << 13) & mask
            state ^= state >> 7
            state ^= (state << 17) & mask
            ids.append(3 + state % (vocab - 4))
        ids.append(eos)
        out.append(ids)
    return out


def versions():
    return {name: importlib.metadata.version(name) for name in PACKAGES}


# ---------------------------------------------------------------------------
# Child processes: building a model, and timing one engine on one row. Each
# runs in its own interpreter so that the parent never holds torch or a model
# and each engine's peak RSS is measured alone.


def prepare_model(spec):
    """Builds the seeded random model and its id-per-token tokenizer in
    spec["dir"]."""
    import torch
    import transformers
    from tokenizers import Tokenizer, models, pre_tokenizers

    family = spec["family"]
    config_class, model_class = {
        "marian": (transformers.MarianConfig, transformers.MarianMTModel),
        "m2m_100": (transformers.M2M100Config, transformers.M2M100ForConditionalGeneration),
        "t5": (transformers.T5Config, transformers.T5ForConditionalGeneration),
    }[family]
    config = config_class(**spec["config"])
    torch.manual_seed(spec["seed"])
    model = model_class(config).eval()
    model.save_pretrained(spec["dir"])

    vocab_size = config.vocab_size
    special = dict(SPECIAL_TOKENS[family])
    if "pad" in special:
        special[config.pad_token_id] = special.pop("pad")
    vocab = {f"t{i}": i for i in range(vocab_size) if i not in special}
    vocab.update({token: i for i, token in special.items()})
    tokenizer = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    fast = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, eos_token="</s>", unk_token="<unk>", pad_token="<pad>",
        **({"bos_token": "<s>"} if "<s>" in special.values() else {}),
    )
    fast.save_pretrained(spec["dir"])


def read_ids(path):
    return [[int(i) for i in line.split()] for line in Path(path).read_text().splitlines()
            if line.strip()]


def time_transformers(job):
    import torch
    import transformers

    transformers.logging.set_verbosity_error()
    torch.set_num_threads(job["threads"])
    config = json.loads((Path(job["dir"]) / "config.json").read_text())
    model_class = {
        "marian": transformers.MarianMTModel,
        "m2m_100": transformers.M2M100ForConditionalGeneration,
        "t5": transformers.T5ForConditionalGeneration,
    }[job["family"]]
    model = model_class.from_pretrained(job["dir"], dtype=torch.float32).eval()
    pad, n = config["pad_token_id"], job["output_tokens"]
    generation = dict(
        max_new_tokens=n, min_new_tokens=n, num_beams=job["beams"], do_sample=False,
        bad_words_ids=[[pad]], decoder_start_token_id=config["decoder_start_token_id"],
        pad_token_id=pad, eos_token_id=config["eos_token_id"],
        # save_pretrained's generation_config.json may force an end token at
        # the last step (Marian's does); the other engines force nothing.
        forced_eos_token_id=None, forced_bos_token_id=None,
    )
    inputs = read_ids(job["ids"])

    def run(batch):
        width = max(len(ids) for ids in batch)
        ids = torch.tensor([ids + [pad] * (width - len(ids)) for ids in batch])
        mask = torch.tensor([[1] * len(ids) + [0] * (width - len(ids)) for ids in batch])
        out = model.generate(ids, attention_mask=mask, **generation)
        # Each row starts with the decoder start id.
        if out.shape[1] - 1 != n:
            raise SystemExit(f"transformers produced {out.shape[1] - 1} tokens, not {n}")
        return out.shape[0] * n

    with torch.inference_mode():
        run(inputs[:1])
        started = time.perf_counter()
        tokens = sum(run(inputs[i:i + job["batch"]])
                     for i in range(0, len(inputs), job["batch"]))
        return tokens, time.perf_counter() - started


def time_ctranslate2(job):
    import ctranslate2

    vocab = json.loads((Path(job["dir"]) / "shared_vocabulary.json").read_text())
    config = json.loads((Path(job["hf_dir"]) / "config.json").read_text())
    translator = ctranslate2.Translator(
        job["dir"], device="cpu", compute_type=job["compute_type"],
        intra_threads=job["threads"], inter_threads=1,
    )
    pad = config["pad_token_id"]
    # Marian's converted vocabulary drops the padding token (the decoder
    # starts from a zero embedding instead), so there is nothing to suppress.
    suppress = [[vocab[pad]]] if pad < len(vocab) and vocab[pad] == "<pad>" else None
    n = job["output_tokens"]
    inputs = [[vocab[i] for i in ids] for ids in read_ids(job["ids"])]

    def run(batch):
        results = translator.translate_batch(
            batch, max_batch_size=job["batch"], beam_size=job["beams"], num_hypotheses=1,
            min_decoding_length=n, max_decoding_length=n, return_scores=False,
            suppress_sequences=suppress,
        )
        lengths = {len(result.hypotheses[0]) for result in results}
        if lengths != {n}:
            raise SystemExit(f"CTranslate2 produced {sorted(lengths)} tokens, not {n}")
        return len(results) * n

    run(inputs[:1])
    started = time.perf_counter()
    tokens = run(inputs)
    return tokens, time.perf_counter() - started


def worker(kind, argument):
    job = json.loads(argument)
    if kind == "prepare":
        prepare_model(job)
        return
    tokens, seconds = {"transformers": time_transformers,
                       "ctranslate2": time_ctranslate2}[kind](job)
    print(json.dumps({"tokens": tokens, "seconds": seconds}), flush=True)


# ---------------------------------------------------------------------------
# The parent: preparation, the measurement loop and the tables.


def run_child(command, env=None):
    """Runs `command` to completion; returns (exit code, stdout, stderr, peak
    RSS in MiB). wait4 gives this child's own ru_maxrss, where
    RUSAGE_CHILDREN would give the largest of all children so far."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(command, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return (process.returncode, out.read().decode(errors="replace"),
                err.read().decode(errors="replace"), usage.ru_maxrss / 1024)


def self_command(kind, job):
    return [sys.executable, str(SCRIPT), "_worker", kind, json.dumps(job)]


def converter():
    beside = Path(sys.executable).parent / "ct2-transformers-converter"
    found = str(beside) if beside.exists() else shutil.which("ct2-transformers-converter")
    if not found:
        raise SystemExit("ct2-transformers-converter not found: pip install -r "
                         "scripts/requirements-peers.txt")
    return found


def checked(command, what):
    code, out, err, _ = run_child(command)
    if code != 0:
        raise SystemExit(f"{what} failed ({code}):\n{err[-4000:]}")
    return out


def prepare(name, args):
    """The model directory, its two conversions and the source ids of one
    shape, reused when a previous run made them from the same description."""
    shape = SHAPES[name]
    config = dict(shape["config"])
    if args.quick:
        config.update(shape["quick"])
    root = Path(args.work_dir) / (name + ("-quick" if args.quick else ""))
    description = {"config": config, "family": shape["family"], "seed": SEED,
                   "sentences": args.sentences, "source_tokens": args.source_tokens,
                   "versions": versions()}
    stamp = root / "description.json"
    paths = {"hf": root / "hf", "ct2-f32": root / "ct2-f32", "ct2-int8": root / "ct2-int8",
             "ids": root / "source_ids.txt"}
    if stamp.exists() and json.loads(stamp.read_text()) == description:
        log(f"{name}: reusing {root}")
        return paths
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    started = time.perf_counter()
    log(f"{name}: building the random model in {paths['hf']}")
    checked(self_command("prepare", {"family": shape["family"], "config": config,
                                     "seed": SEED, "dir": str(paths["hf"])}),
            f"building {name}")
    for key, extra in (("ct2-f32", []), ("ct2-int8", ["--quantization", "int8"])):
        log(f"{name}: converting to {paths[key]}")
        checked([converter(), "--model", str(paths["hf"]), "--output_dir", str(paths[key])]
                + extra, f"converting {name} ({key})")
    vocab = config["vocab_size"]
    ids = sources(args.sentences, args.source_tokens, vocab, config["eos_token_id"])
    paths["ids"].write_text("".join(" ".join(map(str, s)) + "\n" for s in ids))
    stamp.write_text(json.dumps(description, indent=1))
    log(f"{name}: prepared in {time.perf_counter() - started:.0f}s")
    return paths


def parse_modes(text):
    modes = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, flags = item.partition("=")
        if flags:
            modes.append((name, shlex.split(flags)))
        elif name in ANUBAD_MODES:
            modes.append((name, ANUBAD_MODES[name]))
        else:
            raise SystemExit(f"unknown anubad mode {name!r}: use one of "
                             f"{', '.join(ANUBAD_MODES)} or NAME=FLAGS")
    return modes


def parse_rows(text):
    rows = []
    for item in text.split(","):
        batch, _, beams = item.strip().partition("x")
        rows.append((int(batch), int(beams or 1)))
    return rows


def measure(name, paths, batch, beams, modes, args):
    """One row: every engine back to back. Returns {engine: (tokens/s, MiB)},
    None for an engine that failed."""
    family = SHAPES[name]["family"]
    common = {"ids": str(paths["ids"]), "batch": batch, "beams": beams,
              "output_tokens": args.output_tokens, "threads": args.threads,
              "family": family}
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads),
               MKL_NUM_THREADS=str(args.threads), RAYON_NUM_THREADS=str(args.threads))
    engines = [
        ("transformers f32", self_command("transformers", dict(common, dir=str(paths["hf"])))),
        ("CT2 f32", self_command("ctranslate2", dict(
            common, dir=str(paths["ct2-f32"]), hf_dir=str(paths["hf"]),
            compute_type="float32"))),
        ("CT2 int8", self_command("ctranslate2", dict(
            common, dir=str(paths["ct2-int8"]), hf_dir=str(paths["hf"]),
            compute_type="int8"))),
    ]
    for mode, flags in modes:
        engines.append((f"anubad {mode}", [
            args.anubad_bin, "bench", "--model-dir", str(paths["hf"]),
            "--source-ids", str(paths["ids"]), "--batch-sizes", str(batch),
            "--beams", str(beams), "--output-tokens", str(args.output_tokens),
            "--threads", str(args.threads), *flags]))
    # Rounds of every engine back to back; an engine's speed is its median
    # over the rounds, so one noisy moment moves no row.
    samples = {engine: [] for engine, _ in engines}
    failed = set()
    for round_number in range(args.repeats):
        for engine, command in engines:
            if engine in failed:
                continue
            code, out, err, rss = run_child(command, env)
            speed = None
            if code == 0 and engine.startswith("anubad"):
                speed = anubad_speed(out, batch)
            elif code == 0:
                report = json.loads(out.strip().splitlines()[-1])
                speed = report["tokens"] / report["seconds"]
            if speed is None:
                log(f"  {engine}: failed ({code})\n" + indent(err[-3000:] or out[-3000:]))
                failed.add(engine)
            else:
                log(f"  {engine}: {speed:.1f} target tokens/s, peak RSS {rss:.0f} MiB"
                    + (f" (round {round_number + 1})" if args.repeats > 1 else ""))
                samples[engine].append((speed, rss))
    return {engine: None if engine in failed
            else (statistics.median(s for s, _ in runs), max(r for _, r in runs))
            for engine, runs in samples.items()}


def indent(text):
    return "".join("    " + line + "\n" for line in text.strip().splitlines())


def anubad_speed(stdout, batch):
    """Target tokens/s from `anubad bench`'s table row for `batch`."""
    for line in stdout.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 4 and cells[0] == str(batch):
            return float(cells[3])
    return None


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} CPUs visible"


def anubad_version(binary):
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True)
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError) as error:
        raise SystemExit(f"cannot run the anubad binary {binary}: {error}")


def cell(value, digits=1):
    return "failed" if value is None else f"{value:.{digits}f}"


def tables(measured, modes, args, header):
    engines = ["transformers f32", "CT2 f32", "CT2 int8"] + [f"anubad {m}" for m, _ in modes]
    speed = ["| shape | batch | beams | " + " | ".join(engines)
             + " | best anubad ÷ CT2 int8 | anubad f32 ÷ CT2 f32 |",
             "|---|---:|---:|" + "---:|" * (len(engines) + 2)]
    memory = ["| shape | batch | beams | " + " | ".join(engines) + " |",
              "|---|---:|---:|" + "---:|" * len(engines)]
    for (name, batch, beams), results in measured:
        tps = {e: results[e][0] if results.get(e) else None for e in engines}
        anubad = [tps[e] for e in engines if e.startswith("anubad") and tps[e] is not None]
        best = max(anubad) / tps["CT2 int8"] if anubad and tps["CT2 int8"] else None
        f32 = (tps["anubad f32"] / tps["CT2 f32"]
               if tps.get("anubad f32") and tps["CT2 f32"] else None)
        speed.append(f"| {name} | {batch} | {beams} | "
                     + " | ".join(cell(tps[e]) for e in engines)
                     + f" | {cell(best, 2)} | {cell(f32, 2)} |")
        memory.append(f"| {name} | {batch} | {beams} | "
                      + " | ".join(cell(results[e][1] if results.get(e) else None, 0)
                                   for e in engines) + " |")
    return "\n".join([header, "", "Target tokens/s (higher is better):", "", *speed, "",
                      "Peak RSS of each engine's process, MiB (model loading included):",
                      "", *memory, ""])


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "_worker":
        worker(sys.argv[2], sys.argv[3])
        return
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="opus-mt,nllb-600m",
                        help=f"comma-separated shapes among {', '.join(SHAPES)}")
    parser.add_argument("--anubad-bin",
                        default=os.environ.get("ANUBAD_BIN", str(Path(
                            os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
                            / "release" / "anubad")),
                        help="anubad binary (default: $ANUBAD_BIN, else the release build)")
    parser.add_argument("--anubad-modes", default="f32,int8",
                        help="comma-separated: f32, bf16, f16, q8_0, int8 or NAME=FLAGS")
    parser.add_argument("--work-dir", default=os.path.join(tempfile.gettempdir(),
                                                            "anubad-bench-peers"))
    parser.add_argument("--rows", help="comma-separated BATCHxBEAMS (default: 1x1,32x1,32x4)")
    parser.add_argument("--sentences", type=int, help="default: 64 (4 with --quick)")
    parser.add_argument("--source-tokens", type=int, default=30)
    parser.add_argument("--output-tokens", type=int, help="default: 32 (8 with --quick)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1,
                        help="rounds of every engine per row; each speed is the median")
    parser.add_argument("--busy", action="store_true",
                        help="run one busy-looping process during the measurements")
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: shrunken dimensions and, unless given, 4 "
                             "sentences, 8 output tokens, rows 1x1,4x1,4x2 (numbers mean "
                             "nothing)")
    args = parser.parse_args()
    defaults = (4, 8, "1x1,4x1,4x2") if args.quick else (64, 32, "1x1,32x1,32x4")
    args.sentences = args.sentences or defaults[0]
    args.output_tokens = args.output_tokens or defaults[1]
    args.rows = args.rows or defaults[2]
    names = [n.strip() for n in args.models.split(",") if n.strip()]
    for name in names:
        if name not in SHAPES:
            parser.error(f"unknown shape {name!r} (known: {', '.join(SHAPES)})")
    modes = parse_modes(args.anubad_modes)
    rows = parse_rows(args.rows)
    version = anubad_version(args.anubad_bin)

    prepared = {name: prepare(name, args) for name in names}

    pinned = ", ".join(f"{k} {v}" for k, v in versions().items())
    # PyPI's torch is the CUDA build, whose libraries alone take most of a
    # GiB once imported; said once so that the RSS table can be read fairly.
    imports = run_child([sys.executable, "-c", "import torch, transformers; "
                         "transformers.MarianMTModel"])[3]
    notes = [f"transformers' process holds {imports:.0f} MiB after importing torch and "
             f"transformers, before any model."]
    if args.quick:
        notes.append("**--quick smoke run: shrunken dimensions, numbers mean nothing**")
    if "/debug/" in args.anubad_bin:
        notes.append("**debug build of anubad: its numbers mean nothing**")
    if args.busy:
        notes.append("**with one busy-looping process competing for the CPUs**")
    header = "\n".join([
        f"Peer engines, {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, "
        f"{machine()}; {version} ({args.anubad_bin}); {pinned}.",
        f"Random models ({'; '.join(SHAPES[n]['describe'] for n in names)}), seed {SEED}; "
        f"{args.sentences} sentences of {args.source_tokens} source tokens, exactly "
        f"{args.output_tokens} target tokens each, {args.threads} threads, "
        f"each row's engines back to back"
        + (f", median of {args.repeats} rounds." if args.repeats > 1 else "."),
        *notes,
    ])

    busy = None
    if args.busy:
        busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    measured = []
    try:
        for name in names:
            for batch, beams in rows:
                log(f"{name}, batch {batch}, beams {beams}:")
                measured.append(((name, batch, beams),
                                 measure(name, prepared[name], batch, beams, modes, args)))
    finally:
        if busy is not None:
            busy.kill()
            busy.wait()
    print(tables(measured, modes, args, header), flush=True)


if __name__ == "__main__":
    main()
