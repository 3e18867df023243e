#!/usr/bin/env python3
"""Side by side on one labelled corpus: casebridge redact, Microsoft Presidio and scrubadub.

Run by bench/compare.sh inside a throwaway virtualenv. Prints throughput (MB/s, analysis
only for the Python tools; the whole command for casebridge, process start included) and
precision / recall / F1 per entity type. A prediction counts as correct when it overlaps a
labelled span of the same entity type.
"""
import glob
import json
import os
import subprocess
import sys
import time
from collections import defaultdict

ENTITIES = ["EMAIL", "PHONE", "IP_ADDRESS", "MAC_ADDRESS", "HOSTNAME", "CREDENTIAL", "CREDIT_CARD", "IBAN", "US_SSN", "USERNAME", "PERSON"]

CASEBRIDGE_KINDS = {
    "email": "EMAIL", "phone": "PHONE", "ipv4": "IP_ADDRESS", "ipv6": "IP_ADDRESS", "mac_address": "MAC_ADDRESS",
    "hostname": "HOSTNAME", "payment_card": "CREDIT_CARD", "iban": "IBAN", "us_ssn": "US_SSN", "username": "USERNAME",
    "person_name": "PERSON",
}
PRESIDIO_TYPES = {
    "EMAIL_ADDRESS": "EMAIL", "PHONE_NUMBER": "PHONE", "IP_ADDRESS": "IP_ADDRESS", "URL": "HOSTNAME",
    "CREDIT_CARD": "CREDIT_CARD", "IBAN_CODE": "IBAN", "US_SSN": "US_SSN", "PERSON": "PERSON",
}
SCRUBADUB_TYPES = {
    "email": "EMAIL", "phone": "PHONE", "url": "HOSTNAME", "credit_card": "CREDIT_CARD", "credential": "CREDENTIAL",
    "social_security_number": "US_SSN", "name": "PERSON",
}


def load(corpus_dir):
    files = {os.path.basename(p): open(p, encoding="utf-8").read()
             for p in sorted(glob.glob(os.path.join(corpus_dir, "corpus", "*")))}
    labels = [json.loads(line) for line in open(os.path.join(corpus_dir, "labels.jsonl"))]
    return files, labels


def char_offsets(text):
    """For each UTF-8 byte offset of `text` (and its end), the character offset it falls in:
    casebridge reports bytes, the labels and the Python tools characters."""
    table = []
    for i, c in enumerate(text):
        table.extend([i] * len(c.encode("utf-8")))
    table.append(len(text))
    return table


def run_casebridge(binary, corpus_dir, files):
    findings_path = os.path.join(corpus_dir, "casebridge-findings.jsonl")
    started = time.perf_counter()
    subprocess.run([binary, "redact", os.path.join(corpus_dir, "corpus"), "--dry-run", "--jobs", "1", "--findings", findings_path],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    elapsed = time.perf_counter() - started
    predictions = []
    offsets = {name: char_offsets(text) for name, text in files.items()}
    for line in open(findings_path):
        f = json.loads(line)
        entity = "CREDENTIAL" if f["category"] == "CREDENTIALS" else CASEBRIDGE_KINDS.get(f["kind"])
        if entity:
            name = os.path.basename(f["path"])
            predictions.append((name, offsets[name][f["start"]], offsets[name][f["end"]], entity))
    return predictions, elapsed


def run_presidio(files, model_path):
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    provider = NlpEngineProvider(nlp_configuration={"nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": model_path}]})
    analyzer = AnalyzerEngine(nlp_engine=provider.create_engine(), supported_languages=["en"])
    predictions = []
    started = time.perf_counter()
    for name, text in files.items():
        # Presidio's spaCy pipeline has a length limit; analyse in paragraphs as its docs advise.
        offset = 0
        for block in text.split("\n\n"):
            for result in analyzer.analyze(text=block, language="en"):
                entity = PRESIDIO_TYPES.get(result.entity_type)
                if entity:
                    predictions.append((name, offset + result.start, offset + result.end, entity))
            offset += len(block) + 2
    return predictions, time.perf_counter() - started


def run_scrubadub(files):
    import scrubadub
    scrubber = scrubadub.Scrubber()
    predictions = []
    started = time.perf_counter()
    for name, text in files.items():
        for filth in scrubber.iter_filth(text):
            entity = SCRUBADUB_TYPES.get(filth.type)
            if entity:
                predictions.append((name, filth.beg, filth.end, entity))
    return predictions, time.perf_counter() - started


def score(predictions, labels):
    gold = defaultdict(list)
    for label in labels:
        gold[(label["file"], label["entity"])].append((label["start"], label["end"]))
    result = {}
    for entity in ENTITIES:
        predicted = [(f, s, e) for f, s, e, t in predictions if t == entity]
        truth = [(f, s, e) for (f, t), spans in gold.items() if t == entity for s, e in spans]
        overlaps = lambda a, b: a[0] == b[0] and a[1] < b[2] and b[1] < a[2]
        true_pred = sum(1 for p in predicted if any(overlaps(p, g) for g in truth))
        found = sum(1 for g in truth if any(overlaps(p, g) for p in predicted))
        precision = true_pred / len(predicted) if predicted else None
        recall = found / len(truth) if truth else None
        f1 = 2 * precision * recall / (precision + recall) if precision and recall else (0.0 if predicted or truth else None)
        result[entity] = {"predicted": len(predicted), "labelled": len(truth), "precision": precision, "recall": recall, "f1": f1}
    return result


def fmt(x):
    return "  -  " if x is None else f"{x:.2f}"


def main():
    corpus_dir, binary, model_path = sys.argv[1], sys.argv[2], sys.argv[3]
    files, labels = load(corpus_dir)
    megabytes = sum(len(t) for t in files.values()) / 1e6
    runs = {}
    for tool, run in [("casebridge", lambda: run_casebridge(binary, corpus_dir, files)),
                      ("presidio", lambda: run_presidio(files, model_path)),
                      ("scrubadub", lambda: run_scrubadub(files))]:
        predictions, elapsed = run()
        runs[tool] = {"seconds": elapsed, "mb_per_s": megabytes / elapsed, "scores": score(predictions, labels)}
    print(f"corpus: {megabytes * 1000:.0f} KB, {len(labels)} labelled findings, {len(files)} files")
    base = runs["casebridge"]["mb_per_s"]
    for tool, run in runs.items():
        ratio = "" if tool == "casebridge" else f"  (casebridge is {base / run['mb_per_s']:.0f}x faster)"
        print(f"{tool:<11} {run['mb_per_s']:10.3f} MB/s  {run['seconds']:8.2f} s{ratio}")
    print(f"\n{'entity':<12}" + "".join(f"{tool + ' P/R/F1':>24}" for tool in runs))
    for entity in ENTITIES:
        row = f"{entity:<12}"
        for run in runs.values():
            s = run["scores"][entity]
            row += f"{fmt(s['precision']):>10} {fmt(s['recall'])} {fmt(s['f1'])}"
        print(row)
    json.dump(runs, open(os.path.join(corpus_dir, "compare.json"), "w"), indent=2)


if __name__ == "__main__":
    main()
