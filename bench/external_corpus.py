#!/usr/bin/env python3
"""A labelled corpus written by someone else: Microsoft's presidio-evaluator data generator.

Usage: external_corpus.py OUT_DIR SENTENCES

Its sentence templates (support requests, forms, letters, chat lines) are filled with fake
names, emails, phones, cards, IBANs, SSNs, IPs and URLs, each span labelled by the
generator, not by us; names stand anywhere in prose, not only where our detectors look.
Writes OUT_DIR/corpus/sentences.txt and OUT_DIR/labels.jsonl in the format of
labelled_corpus.py ({"file", "start", "end", "entity"}, character offsets), keeping only
the entity types compare.py scores. Runs inside the virtualenv bench/compare.sh makes.
"""
import json
import os
import sys

from presidio_evaluator.data_generator import PresidioSentenceFaker

# The generator's entity types and the ones compare.py scores.
ENTITIES = {
    "PERSON": "PERSON",
    "EMAIL_ADDRESS": "EMAIL",
    "PHONE_NUMBER": "PHONE",
    "CREDIT_CARD": "CREDIT_CARD",
    "IBAN_CODE": "IBAN",
    "US_SSN": "US_SSN",
    "IP_ADDRESS": "IP_ADDRESS",
    "URL": "HOSTNAME",
    "DOMAIN_NAME": "HOSTNAME",
}


def main():
    out, count = sys.argv[1], int(sys.argv[2])
    os.makedirs(os.path.join(out, "corpus"), exist_ok=True)
    faker = PresidioSentenceFaker("en_US", lower_case_ratio=0.0, random_seed=42)
    records = faker.generate_new_fake_sentences(num_samples=count)
    parts, labels, pos = [], [], 0
    for record in records:
        # Blocks are separated by a blank line, as compare.py hands Presidio paragraphs.
        text = record.full_text.replace("\n\n", "\n")
        if text != record.full_text:
            continue
        for span in record.spans:
            entity = ENTITIES.get(span.entity_type)
            if entity:
                labels.append((pos + span.start_position, pos + span.end_position, entity))
        parts.append(text)
        pos += len(text) + 2
    with open(os.path.join(out, "corpus", "sentences.txt"), "w", encoding="utf-8") as f:
        f.write("\n\n".join(parts))
    with open(os.path.join(out, "labels.jsonl"), "w") as f:
        for start, end, entity in labels:
            f.write(json.dumps({"file": "sentences.txt", "start": start, "end": end, "entity": entity}) + "\n")
    print(f"{len(parts)} sentences, {len(labels)} labelled findings", file=sys.stderr)


if __name__ == "__main__":
    main()
