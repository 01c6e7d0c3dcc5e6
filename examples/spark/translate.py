#!/usr/bin/env python3
"""Translate a dataset of Bengali articles with anubad on Spark.

Reads articles from JSON Lines or Parquet (one record an article: `id`,
`text` or `html`, and optionally `title`, `url`, `published`), splits them
into partitions, and pipes each partition through one

    anubad run - --emit jsonl --model MODEL --cache CACHE

process, so each partition loads the model once. Every result line is what
`anubad run` writes as `<id>.json`; an input that failed gives anubad's
`{"schema_version", "anubad_version", "input", "error"}` plus `input_id`, the
id the input carried (added here: `input` is only `stdin#N`, a line of one
partition). Results are written as JSON Lines (an article's line as anubad
wrote it) or Parquet.

Point `--cache` at a PostgreSQL database that every executor reaches, so that
no sentence is translated twice anywhere and a retried task costs little:

    spark-submit examples/spark/translate.py s3://news/bn/2024.parquet \\
        --output s3://news/en/2024 --output-format parquet --partitions 200 \\
        --model /shared/models/opus-mt-bn-en --cache "$ANUBAD_CACHE" \\
        -- --quantize int8

The URL is on each executor's command line: leave the password out of it and
give it as `--conf spark.executorEnv.PGPASSWORD=...`, which Spark's UI masks.
`anubad` must be on each executor's PATH (or give `--anubad PATH`), and the
model on each executor (a shared directory, or the Hugging Face cache). Words
after `--` go to `anubad run` unchanged. Exit code: 0 when every article was
translated, 1 when some failed (the results say which and why). A task whose
anubad crashed or was killed fails, and Spark retries it.

Requires pyspark (Apache-2.0; examples/spark/requirements.txt) and Java 17.
"""

import argparse
import itertools
import json
import os
import queue
import subprocess
import sys
import threading

from pyspark import StorageLevel
from pyspark.sql import SparkSession

FIELDS = ["id", "text", "html", "title", "url", "published"]


def parse_args(argv):
    if "--" in argv:
        at = argv.index("--")
        argv, extra = argv[:at], argv[at + 1 :]
    else:
        extra = []
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("input", help="articles: a .jsonl or .parquet file or folder")
    parser.add_argument("--output", required=True, help="folder to write the results to")
    parser.add_argument("--input-format", choices=["jsonl", "parquet"],
                        help="default: from the input's extension")
    parser.add_argument("--output-format", choices=["jsonl", "parquet"], default="jsonl")
    parser.add_argument("--partitions", type=int,
                        help="anubad processes in all (default: Spark's default parallelism)")
    parser.add_argument("--model", help="anubad --model (default: anubad's own)")
    parser.add_argument("--cache", help="anubad --cache: postgres://... shared by all executors")
    parser.add_argument("--anubad", default="anubad", help="the anubad binary (default: on PATH)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --output")
    args = parser.parse_args(argv)
    args.extra = extra
    if args.input_format is None:
        name = args.input.rstrip("/").lower()
        if name.endswith(".parquet"):
            args.input_format = "parquet"
        elif name.endswith((".jsonl", ".json", ".ndjson")):
            args.input_format = "jsonl"
        else:
            parser.error("cannot tell the input's format from its name: give --input-format")
    return args


def read_articles(spark, path, fmt):
    """The articles, with the fields anubad reads."""
    articles = spark.read.json(path) if fmt == "jsonl" else spark.read.parquet(path)
    return articles.select([c for c in FIELDS if c in articles.columns])


def input_id(line):
    try:
        return json.loads(line).get("id")
    except (ValueError, AttributeError):
        return None


def pipe_through_anubad(command):
    """A mapPartitions function: one anubad process for the whole partition.

    RDD.pipe would start it with an empty environment (no PATH, HOME or
    ANUBAD_CACHE) and could not tell an article that failed (exit 1, reported
    in its result line) from a crash; this does both, and checks that every
    article sent got its line back.
    """

    def run(lines):
        first = next(lines, None)
        if first is None:
            return  # an empty partition: nothing to start anubad for
        lines = itertools.chain([first], lines)
        env = dict(os.environ)
        for name in ("SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT", "JOB_COMPLETION_INDEX"):
            env.pop(name, None)  # Spark splits the work; anubad must not shard it again
        proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        sent = queue.Queue()  # the id of each line sent, in order
        feed_error = []

        def feed():
            try:
                for line in lines:
                    sent.put(input_id(line))
                    proc.stdin.write(line.encode("utf-8") + b"\n")
            except BrokenPipeError:
                pass  # anubad stopped early: its exit code says why
            except Exception as e:  # reading the input failed: fail the task
                feed_error.append(e)
            finally:
                try:
                    proc.stdin.close()
                except BrokenPipeError:
                    pass

        # Written from a thread: anubad answers while it reads, and both pipes are bounded.
        feeder = threading.Thread(target=feed, daemon=True)
        feeder.start()
        try:
            for out in proc.stdout:
                if sent.empty():
                    raise RuntimeError(f"{command[0]} answered more lines than it was sent")
                sent_id = sent.get()
                line = out.decode("utf-8").rstrip("\n")
                result = json.loads(line)
                if "error" in result:
                    result["input_id"] = sent_id
                    line = json.dumps(result, ensure_ascii=False)
                yield line
            code = proc.wait()
            feeder.join()
            if feed_error:
                raise feed_error[0]
            if code not in (0, 1) or not sent.empty():
                raise RuntimeError(f"{command[0]} exited with {code} before answering "
                                   f"every article (its stderr is in this executor's log)")
        finally:
            if proc.poll() is None:  # the task failed or was cancelled
                proc.kill()

    return run


def main(argv):
    args = parse_args(argv)
    command = [args.anubad, "run", "-", "--emit", "jsonl"]
    if args.model:
        command += ["--model", args.model]
    if args.cache:
        command += ["--cache", args.cache]
    command += args.extra

    spark = SparkSession.builder.appName("anubad-translate").getOrCreate()
    articles = read_articles(spark, args.input, args.input_format)
    partitions = args.partitions or spark.sparkContext.defaultParallelism
    # One JSON object a line, as anubad reads them on stdin; a line of the
    # input that is not JSON is a row of nulls, `{}`, which anubad reports.
    lines = articles.repartition(partitions).toJSON()
    results = lines.mapPartitions(pipe_through_anubad(command))
    # Kept, so that writing, the Parquet schema and the counts translate once.
    results = results.persist(StorageLevel.MEMORY_AND_DISK)

    mode = "overwrite" if args.overwrite else "errorifexists"
    if args.output_format == "jsonl":
        table = spark.createDataFrame(results.map(lambda line: (line,)), "value string")
        table.write.mode(mode).text(args.output)
    else:
        spark.read.json(results).write.mode(mode).parquet(args.output)

    failed = results.map(json.loads).filter(lambda result: "error" in result)
    failures = failed.count()
    print(f"{results.count() - failures} articles ok, {failures} failed; "
          f"results in {args.output}", file=sys.stderr)
    for result in failed.take(20):
        print(f"  {result.get('input_id')}: {result['error']}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
