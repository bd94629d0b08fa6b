#!/usr/bin/python3
"""Evaluate a shipped TorchScript model file (FP32 or INT8) on a split of the scene dataset.

    /usr/bin/python3 tools/evaluate.py models/lightweight_captioning_model.pt --split test --beam 3

Decodes in Python through the file's own encode/step (exactly what ships) and reports corpus BLEU-1..4
against all reference captions plus per-attribute accuracy:
  object_recall      ground-truth objects whose category noun (singular or plural) the caption names
  count_accuracy     ground-truth objects named with the right number ("two dogs" for 2, singular for 1);
                     an object that is not named counts as wrong
  colour_accuracy    ground-truth objects that have a colour and are named with that colour (missing = wrong);
                     colour_accuracy_when_named: right colour among those named with some colour
  relation_accuracy  relations the caption states ("A to the left of B", "A above B", ...) that are true of
                     the scene (converses count: A left of B == B right of A); relation_recall: ground-truth
                     relations that the caption states
  object_precision   category nouns in the caption that are really in the scene (hallucination check)
  object_recall_held_out_sources / _seen_sources
                     object_recall split by whether the object's sprite source is one the split design holds
                     out of training (meta.json "held_out" "sources"; only the test split has such objects)
  held_out_by_source objects and recalled objects per held-out "category/source" (JSON; printed worst first)
Writes the results as JSON (--out, default runs/eval/<model>_<split>.json), with every image's caption
("captions": ids and one list per decoding), so that tools/compare_evals.py can compare two files image by
image (paired bootstrap confidence intervals) without decoding again.
"""
import argparse
import json
import math
import os
import statistics
import sys
import time
from collections import Counter
from typing import Dict, List, Optional, Sequence, Tuple

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (START, beam_decode, decode_ids, greedy_decode, load_images, load_scripted,  # noqa: E402
                    normalise, read_split, repo_root, tokenize)

try:
    from datagen.grammar import CATEGORIES, COLOUR_TERMS, NUMBER_WORDS, PAIR_NOUNS, pluralize
except ImportError:  # the generator's grammar is the source of truth; this fallback keeps tests runnable
    COLOUR_TERMS = ["black", "white", "gray", "red", "orange", "yellow", "green", "blue", "purple", "pink",
                    "brown"]
    NUMBER_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
                    "eleven", "twelve"]
    CATEGORIES: List[str] = []
    PAIR_NOUNS = {"skis", "scissors"}

    def pluralize(noun: str) -> str:
        return noun if noun.endswith("s") else noun + "s"

RELATION_PATTERNS = [(["to", "the", "left", "of"], "left of"), (["to", "the", "right", "of"], "right of"),
                     (["next", "to"], "next to"), (["above"], "above"), (["below"], "below")]
CONVERSE = {"left of": "right of", "right of": "left of", "above": "below", "below": "above",
            "next to": "next to"}


# ---- BLEU -------------------------------------------------------------------------------------------
def _ngrams(words: Sequence[str], n: int) -> Counter:
    return Counter(tuple(words[i:i + n]) for i in range(len(words) - n + 1))


def corpus_bleu(hypotheses: List[List[str]], references: List[List[List[str]]], max_n: int = 4
                ) -> Dict[str, float]:
    """Corpus BLEU (Papineni et al. 2002): clipped n-gram precision summed over the corpus, brevity
    penalty against the closest reference length, uniform weights. Returns bleu1..bleu{max_n}."""
    match = [0] * (max_n + 1)
    total = [0] * (max_n + 1)
    hyp_len = ref_len = 0
    for hyp, refs in zip(hypotheses, references):
        hyp_len += len(hyp)
        ref_len += min((abs(len(r) - len(hyp)), len(r)) for r in refs)[1]
        for n in range(1, max_n + 1):
            h = _ngrams(hyp, n)
            max_ref: Counter = Counter()
            for r in refs:
                for g, c in _ngrams(r, n).items():
                    max_ref[g] = max(max_ref[g], c)
            match[n] += sum(min(c, max_ref[g]) for g, c in h.items())
            total[n] += max(len(hyp) - n + 1, 0)
    bp = 1.0 if hyp_len > ref_len else (math.exp(1 - ref_len / hyp_len) if hyp_len else 0.0)
    out = {}
    for n in range(1, max_n + 1):
        if any(match[k] == 0 for k in range(1, n + 1)):
            out[f"bleu{n}"] = 0.0
            continue
        log_p = sum(math.log(match[k] / total[k]) for k in range(1, n + 1)) / n
        out[f"bleu{n}"] = bp * math.exp(log_p)
    return out


# ---- caption parsing --------------------------------------------------------------------------------
class Mention:
    def __init__(self, category: str, start: int, end: int, count: Optional[int], colour: Optional[str]):
        self.category, self.start, self.end, self.count, self.colour = category, start, end, count, colour

    def __repr__(self):
        return f"Mention({self.category!r}, count={self.count}, colour={self.colour!r})"


def _forms(categories: Sequence[str]) -> List[Tuple[List[str], str, bool]]:
    forms = []
    for c in categories:
        sing, plur = c.split(), pluralize(c).split()
        forms.append((sing, c, False))
        if plur != sing:
            forms.append((plur, c, True))
    forms.sort(key=lambda f: -len(f[0]))  # longest first: "hot dog" before "dog"
    return forms


def parse_mentions(words: List[str], categories: Sequence[str]) -> List[Mention]:
    """Find the object mentions of a caption with their stated count and colour."""
    forms = _forms(categories)
    found = []
    i = 0
    while i < len(words):
        for form, cat, plural in forms:
            if words[i:i + len(form)] == form:
                found.append((i, i + len(form), cat, plural))
                i += len(form)
                break
        else:
            i += 1
    # a colour-named category used as an adjective ("an orange car", "a plain orange background") is a
    # colour, not an object
    found = [f for k, f in enumerate(found)
             if not (f[2] in COLOUR_TERMS and ((k + 1 < len(found) and found[k + 1][0] == f[1])
                                               or words[f[1]:f[1] + 1] == ["background"]
                                               or (f[0] > 0 and words[f[0] - 1] == "plain")))]
    mentions = []
    for start, end, cat, plural in found:
        j = start - 1
        colour = None
        if j >= 0 and words[j] in COLOUR_TERMS:
            colour = words[j]
            j -= 1
        if cat in PAIR_NOUNS and j >= 1 and words[j] == "of" and words[j - 1] in ("pair", "pairs"):
            plural = words[j - 1] == "pairs"
            j -= 2
        count: Optional[int] = None
        if j >= 0 and words[j] in NUMBER_WORDS:
            count = NUMBER_WORDS.index(words[j])
        elif j >= 0 and words[j] in ("a", "an"):
            count = 1
        elif not plural and pluralize(cat) != cat and cat not in PAIR_NOUNS:
            count = 1
        mentions.append(Mention(cat, start, end, count, colour))
    return mentions


def parse_relations(words: List[str], mentions: List[Mention]) -> List[Tuple[str, str, str]]:
    rels = []
    for i in range(len(words)):
        for pattern, rel in RELATION_PATTERNS:
            if words[i:i + len(pattern)] == pattern:
                before = [m for m in mentions if m.end <= i]
                after = [m for m in mentions if m.start >= i + len(pattern)]
                if before and after:
                    rels.append((before[-1].category, rel, after[0].category))
    return rels


def attribute_scores(captions: List[str], records: List[dict], categories: Sequence[str],
                     held_out_sources: Optional[Dict[str, str]] = None) -> Dict[str, float]:
    n = Counter()
    held_objects, held_recalled = Counter(), Counter()  # per "category/source" of held-out objects
    held_out_sources = held_out_sources or {}
    for cap, rec in zip(captions, records):
        words = tokenize(cap)
        mentions = parse_mentions(words, categories)
        by_cat: Dict[str, Mention] = {}
        for m in mentions:
            by_cat.setdefault(m.category, m)
        gt_cats = {o["category"] for o in rec["objects"]}
        for o in rec["objects"]:
            m = by_cat.get(o["category"])
            n["objects"] += 1
            n["recalled"] += m is not None
            n["count_ok"] += m is not None and m.count == o["count"]
            held_source = held_out_sources.get(o["category"])
            side = "held" if held_source is not None and held_source == o.get("source") else "seen"
            n[f"objects_{side}"] += 1
            n[f"recalled_{side}"] += m is not None
            if side == "held":
                held_objects[f"{o['category']}/{held_source}"] += 1
                held_recalled[f"{o['category']}/{held_source}"] += m is not None
            if o.get("colour"):
                n["coloured"] += 1
                n["colour_ok"] += m is not None and m.colour == o["colour"]
                n["colour_named"] += m is not None and m.colour is not None
        n["mentions"] += len(mentions)
        n["mentions_true"] += sum(m.category in gt_cats for m in mentions)
        gt_rels = {(r["subject"], r["relation"], r["object"]) for r in rec.get("relations", [])}
        gt_rels |= {(o, CONVERSE[r], s) for s, r, o in gt_rels if r in CONVERSE}
        stated = parse_relations(words, mentions)
        n["relations_stated"] += len(stated)
        n["relations_true"] += sum(r in gt_rels for r in stated)
        n["gt_relations"] += len(rec.get("relations", []))
        n["gt_relations_stated"] += sum((r["subject"], r["relation"], r["object"]) in
                                        {(s, rr, o) for s, rr, o in stated} |
                                        {(o, CONVERSE[rr], s) for s, rr, o in stated}
                                        for r in rec.get("relations", []))

    def ratio(a: str, b: str) -> Optional[float]:
        return n[a] / n[b] if n[b] else None

    return {"object_recall": ratio("recalled", "objects"), "count_accuracy": ratio("count_ok", "objects"),
            "count_accuracy_when_named": ratio("count_ok", "recalled"),
            "colour_accuracy": ratio("colour_ok", "coloured"),
            "colour_accuracy_when_named": ratio("colour_ok", "colour_named"),
            "colour_mention_rate": ratio("colour_named", "coloured"),
            "relation_accuracy": ratio("relations_true", "relations_stated"),
            "relation_recall": ratio("gt_relations_stated", "gt_relations"),
            "object_precision": ratio("mentions_true", "mentions"),
            "object_recall_held_out_sources": ratio("recalled_held", "objects_held"),
            "object_recall_seen_sources": ratio("recalled_seen", "objects_seen"),
            "held_out_by_source": {k: {"objects": held_objects[k], "recalled": held_recalled[k]}
                                   for k in sorted(held_objects)},
            "counts": dict(n)}


def score_captions(captions: List[str], records: List[dict], categories: Sequence[str],
                   held_out_sources: Optional[Dict[str, str]] = None) -> dict:
    hyps = [tokenize(c) for c in captions]
    refs = [[tokenize(r) for r in rec["captions"]] for rec in records]
    out = corpus_bleu(hyps, refs)
    out.update(attribute_scores(captions, records, categories, held_out_sources))
    out["mean_length"] = sum(map(len, hyps)) / max(len(hyps), 1)
    return out


def held_out_sources(root: str) -> Dict[str, str]:
    """category -> the sprite source the split design keeps out of train/val (meta.json), or {}."""
    meta_path = os.path.join(root, "meta.json")
    if not os.path.exists(meta_path):
        return {}
    with open(meta_path) as f:
        return dict(json.load(f).get("held_out", {}).get("sources", {}))


def dataset_categories(root: str, records: List[dict]) -> List[str]:
    meta_path = os.path.join(root, "meta.json")
    cats = set(CATEGORIES)
    if os.path.exists(meta_path):
        with open(meta_path) as f:
            meta = json.load(f)
        c = meta.get("categories", [])
        cats |= {x if isinstance(x, str) else x.get("name") for x in c}
    cats |= {o["category"] for r in records for o in r["objects"]}
    return sorted(c for c in cats if c)


# ---- decoding ---------------------------------------------------------------------------------------
def caption_split(module, vocab: List[str], images_u8: torch.Tensor, beam: int = 1, max_len: int = 20,
                  batch: int = 64) -> List[str]:
    out = []
    with torch.no_grad():
        if beam <= 1:
            for i in range(0, images_u8.size(0), batch):
                for ids in greedy_decode(module, normalise(images_u8[i:i + batch]), max_len):
                    out.append(decode_ids(ids, vocab))
        else:
            for i in range(images_u8.size(0)):
                ids = beam_decode(module, normalise(images_u8[i:i + 1]), beam, max_len)
                out.append(decode_ids(ids, vocab))
    return out


def measure_latency(module, size: int, runs: int, steps: int = 15) -> dict:
    """Median wall time of one caption (encode + `steps` greedy steps, batch 1) through TorchScript."""
    x = torch.randn(1, 3, size, size)
    times = []
    with torch.no_grad():
        for k in range(runs + 5):
            t0 = time.perf_counter()
            state = module.encode(x)
            tok = torch.tensor([START])
            for _ in range(steps):
                logp, state = module.step(tok, state)
                tok = logp.argmax(1)
            if k >= 5:  # warm-up excluded
                times.append((time.perf_counter() - t0) * 1000)
    return {"median_ms": statistics.median(times), "min_ms": min(times), "runs": runs,
            "threads": torch.get_num_threads(), "steps": steps}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("--data", default=os.path.join(repo_root(), "data", "scenes"))
    ap.add_argument("--split", default="test")
    ap.add_argument("--beam", type=int, default=0, help="also decode with this beam width")
    ap.add_argument("--limit", type=int, default=0, help="evaluate the first N images only")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--latency", type=int, default=0, help="also time N single-image captions")
    ap.add_argument("--out")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    module, meta = load_scripted(args.model)
    vocab = meta["vocab"]
    records = read_split(args.data, args.split)
    size = meta["input"]["height"]
    images = load_images(args.data, args.split, records, size)
    if args.limit:
        records, images = records[:args.limit], images[:args.limit]
    categories = dataset_categories(args.data, records)
    result = {"model": args.model, "variant": meta.get("variant"), "precision": meta.get("precision"),
              "split": args.split, "images": len(records), "data": os.path.abspath(args.data)}
    t0 = time.time()
    caps = caption_split(module, vocab, images, 1, meta["max_caption_length"])
    held = held_out_sources(args.data)
    result["greedy"] = score_captions(caps, records, categories, held)
    result["greedy"]["seconds"] = time.time() - t0
    result["examples"] = [{"id": r["id"], "greedy": c, "reference": r["captions"][0]}
                          for r, c in list(zip(records, caps))[:15]]
    result["captions"] = {"ids": [r["id"] for r in records], "greedy": caps}
    if args.beam > 1:
        t0 = time.time()
        bcaps = caption_split(module, vocab, images, args.beam, meta["max_caption_length"])
        result[f"beam{args.beam}"] = score_captions(bcaps, records, categories, held)
        result[f"beam{args.beam}"]["seconds"] = time.time() - t0
        result["captions"][f"beam{args.beam}"] = bcaps
        for ex, c in zip(result["examples"], bcaps):
            ex[f"beam{args.beam}"] = c
    if args.latency:
        result["latency"] = measure_latency(module, size, args.latency)
    out = args.out or os.path.join(repo_root(), "runs", "eval",
                                   f"{os.path.basename(args.model).replace('.pt', '')}_{args.split}.json")
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        json.dump(result, f, indent=1)
    for key in [k for k in result if k == "greedy" or k.startswith("beam")]:
        r = result[key]
        print(f"{args.split} {key:7s} n={len(records)} BLEU-1..4 {r['bleu1']:.3f} {r['bleu2']:.3f} "
              f"{r['bleu3']:.3f} {r['bleu4']:.3f} | object {fmt(r['object_recall'])} count "
              f"{fmt(r['count_accuracy'])} colour {fmt(r['colour_accuracy'])} (when named "
              f"{fmt(r['colour_accuracy_when_named'])}) relation "
              f"{fmt(r['relation_accuracy'])} (recall {fmt(r['relation_recall'])}) precision "
              f"{fmt(r['object_precision'])} | object recall, seen sources {fmt(r['object_recall_seen_sources'])}"
              f", held-out sources {fmt(r['object_recall_held_out_sources'])}")
        if r.get("held_out_by_source"):
            print(f"  held-out recall by source, worst first: {held_out_summary(r['held_out_by_source'])}")
    if "latency" in result:
        print(f"latency: median {result['latency']['median_ms']:.2f} ms per caption (encode + 15 steps, "
              f"{result['latency']['threads']} threads, Python TorchScript)")
    for ex in result["examples"][:5]:
        print(f"  {ex['id']}: {ex['greedy']!r}  (ref: {ex['reference']!r})")
    print("wrote", out)


def fmt(x: Optional[float]) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def held_out_summary(by_source: Dict[str, Dict[str, int]]) -> str:
    """One line of recalled/objects per held-out "category/source", worst recall first."""
    rows = sorted(by_source.items(), key=lambda kv: (kv[1]["recalled"] / max(kv[1]["objects"], 1), kv[0]))
    return " ".join(f"{k} {v['recalled']}/{v['objects']}" for k, v in rows)


if __name__ == "__main__":
    main()
