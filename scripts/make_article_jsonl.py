#!/usr/bin/env python3
"""Writes N article records (anubad's JSONL input) made from a folder of pages.

Used to measure how `anubad run` scales with the number of articles: each
record repeats one of the pages, with its title numbered (in Bengali digits)
so that every article has one sentence no other article has, and the rest
of its text the same as its page's, as wire copies are.

    python3 scripts/make_article_jsonl.py 100000 ../shared/articles > big.jsonl
"""
import json
import pathlib
import sys

BENGALI_DIGITS = str.maketrans("0123456789", "০১২৩৪৫৬৭৮৯")


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    count = int(sys.argv[1])
    folder = pathlib.Path(sys.argv[2])
    pages = [
        path.read_text(encoding="utf-8")
        for path in sorted(folder.iterdir())
        if path.suffix in (".txt", ".md") and path.stem.lower() != "readme"
    ]
    if not pages:
        sys.exit(f"no .txt or .md pages in {folder}")
    out = sys.stdout
    for i in range(count):
        title, _, body = pages[i % len(pages)].lstrip("# ").partition("\n")
        numbered = f"{title.strip()} ({str(i + 1).translate(BENGALI_DIGITS)})"
        record = {"id": f"article-{i + 1:06}", "title": numbered, "text": f"{numbered}\n{body}"}
        out.write(json.dumps(record, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
