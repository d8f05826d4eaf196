#!/usr/bin/python3
"""Writes porter-nltk.tsv: `word<TAB>stem` as NLTK's PorterStemmer (NLTK_EXTENSIONS mode, the one
rouge-score uses) stems them. Run with Debian's python3-nltk (3.8):

    /usr/bin/python3 tests/data/stemmer/generate.py ../shared/data > tests/data/stemmer/porter-nltk.tsv

Words: every distinct lowercase [a-z0-9]+ token longer than 2 characters of the summarization sets
and the Jargon File in shared/data, plus hand-picked words that reach NLTK's special cases.
"""
import json
import re
import sys

from nltk.stem.porter import PorterStemmer

data = sys.argv[1]
words = set()
texts = []
for name in ("bbc-100", "xsum-10", "opinosis"):
    with open(f"{data}/summarization/{name}.jsonl", encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            texts += [r["document"], r["reference"]]
with open(f"{data}/text/jargon.txt", encoding="utf-8") as f:
    texts.append(f.read())
for t in texts:
    words.update(w for w in re.sub(r"[^a-z0-9]+", " ", t.lower()).split() if len(w) > 2)
words.update("""dying lying tying skies sky news innings inning outings outing cannings canning
howe proceed exceed succeed ties tied cried spied flies happy enjoy generalization
generalizations radically analogousli geology theology conformably hopping filing failing
controlling rolling agreed feed bled sing caresses ponies triplicate formalize electricity
electrical hopeful goodness revival allowance inference airliner gyroscopic adjustable
defensible irritant replacement adjustment dependent adoption homologou communism activate
angulariti homologous effective bowdlerize probate rate cease controll roll""".split())
stem = PorterStemmer().stem
for w in sorted(words):
    print(f"{w}\t{stem(w)}")
