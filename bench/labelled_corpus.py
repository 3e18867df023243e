#!/usr/bin/env python3
"""A labelled corpus for detector quality: realistic support text with every expected
finding marked by entity type and character offsets (UTF-8 text: names carry letters
beyond ASCII; tickets also come exported as JSON lines, where a line break is `\\n` and
such letters are `\\uXXXX` escapes).

Usage: labelled_corpus.py OUT_DIR KILOBYTES
Writes OUT_DIR/corpus/*.txt and OUT_DIR/labels.jsonl ({"file", "start", "end", "entity"}).
Noise lines carry look-alikes that must NOT be reported: versions, timestamps, OIDs, file
names, Java packages, hex ids, placeholders.
"""
import json
import os
import random
import sys
import unicodedata

rng = random.Random(7)

FIRST = ["Alice", "Bob", "Carol", "David", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy", "Priya", "Ken", "Olga", "Tomas",
         "José", "Jürgen", "Søren", "Zoë"]
LAST = ["Johnson", "Miller", "Garcia", "Nguyen", "Okafor", "Watanabe", "Raman", "Berg", "Herrera", "Fischer",
        "Müller", "Ødegård", "Łukasiewicz"]
USERS = ["alice", "bsmith", "carol.d", "dave42", "erin_k", "fmiller", "gokafor", "hwatanabe"]
DOMAINS = ["acme.com", "globex.co.uk", "initech.io", "umbrella.org", "contoso.com"]
SUBS = ["db1.corp", "web01.prod", "mail", "api.eu", "k8s-node-7.int"]


class Doc:
    def __init__(self):
        self.parts, self.labels, self.pos = [], [], 0

    def text(self, s):
        self.parts.append(s)
        self.pos += len(s)

    def value(self, s, entity):
        self.labels.append((self.pos, self.pos + len(s), entity))
        self.text(s)


def luhn_card(prefix, length):
    digits = [int(d) for d in prefix] + [rng.randint(0, 9) for _ in range(length - len(prefix) - 1)]
    total = 0
    for i, d in enumerate(reversed(digits)):
        total += (d * 2 - 9 if d * 2 > 9 else d * 2) if i % 2 == 0 else d
    digits.append((10 - total % 10) % 10)
    s = "".join(map(str, digits))
    return " ".join(s[i:i + 4] for i in range(0, len(s), 4))


def iban():
    bban = "".join(rng.choice("0123456789") for _ in range(18))
    country = "DE"
    numeric = int("".join(str(int(c, 36)) for c in bban + country + "00"))
    check = 98 - numeric % 97
    return f"{country}{check:02d}{bban}"


def ssn():
    return f"{rng.randint(100, 665):03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"


def ip():
    return rng.choice([f"10.{rng.randint(0,255)}.{rng.randint(0,255)}.{rng.randint(1,254)}",
                       f"203.0.113.{rng.randint(1,254)}", f"2001:db8:{rng.randint(1,9999):x}::{rng.randint(1,999):x}"])


def host():
    return f"{rng.choice(SUBS)}.{rng.choice(DOMAINS)}"


def ascii_fold(name):
    """How a mail system spells a name in an address: `Jürgen Ødegård` as `jurgen.odegard`."""
    name = name.lower().replace("ø", "o").replace("ł", "l")
    return "".join(c for c in unicodedata.normalize("NFKD", name) if c.isascii())


def email():
    return f"{ascii_fold(rng.choice(FIRST))}.{ascii_fold(rng.choice(LAST))}@{rng.choice(DOMAINS)}"


def phone():
    return rng.choice([f"+1 555 {rng.randint(100,999)} {rng.randint(1000,9999)}", f"(555) {rng.randint(100,999)}-{rng.randint(1000,9999)}",
                       f"+44 20 {rng.randint(1000,9999)} {rng.randint(1000,9999)}"])


def mac():
    return ":".join(f"{rng.randint(0,255):02x}" for _ in range(6))


def secret():
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(rng.choice(alphabet) for _ in range(20))


def ticket(d):
    name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    d.text("From: "); d.value(name, "PERSON"); d.text(" <"); d.value(email(), "EMAIL"); d.text(">\nSubject: Case 4471 - array offline\n\nHi ")
    d.value(rng.choice(FIRST), "PERSON")
    d.text(",\n\nthe controller at "); d.value(ip(), "IP_ADDRESS"); d.text(" stopped answering after firmware 7.4.2 was applied. ")
    d.text("You can reach me on "); d.value(phone(), "PHONE"); d.text(".\nThe customer paid with card "); d.value(luhn_card("4", 16), "CREDIT_CARD")
    d.text(" and refunds go to "); d.value(iban(), "IBAN"); d.text(".\n\nBest regards,\n"); d.value(name, "PERSON"); d.text("\n\n")


def ticket_export(d):
    """A ticket as a CRM exports it: one JSON object per line, the body a JSON string."""
    inner = Doc()
    ticket(inner)
    d.text(json.dumps({"id": rng.randint(10000, 99999), "status": "open"})[:-1] + ', "body": "')
    labels = iter(sorted(inner.labels))
    label = next(labels, None)
    at = 0
    for part in inner.parts:
        encoded = json.dumps(part)[1:-1]
        if label and label[0] == at:
            d.value(encoded, label[2])
            label = next(labels, None)
        else:
            d.text(encoded)
        at += len(part)
    d.text('"}\n')


def auth_log(d):
    d.text(f"2026-11-{rng.randint(1,28):02d}T10:{rng.randint(0,59):02d}:{rng.randint(0,59):02d}Z ")
    d.value(rng.choice(SUBS).split(".")[0] + "." + rng.choice(DOMAINS), "HOSTNAME")
    d.text(f" sshd[{rng.randint(100,9999)}]: Failed password for user "); d.value(rng.choice(USERS), "USERNAME")
    d.text(" from "); d.value(ip(), "IP_ADDRESS"); d.text(f" port {rng.randint(1024,65535)} ssh2\n")


def app_config(d):
    d.text("[database]\nhost = "); d.value(host(), "HOSTNAME"); d.text("\nport = 5432\npassword = "); d.value(secret(), "CREDENTIAL")
    d.text("\n[cloud]\naws_access_key_id = "); d.value("AKIA" + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16)), "CREDENTIAL")
    d.text("\nregion = eu-west-1\nretries = 3\n\n")


def app_log(d):
    d.text(f"2026-11-28 10:{rng.randint(0,59):02d}:00,123 INFO  [main] c.a.b.Connector - connecting to postgres://svc:")
    d.value(secret(), "CREDENTIAL"); d.text("@"); d.value(host(), "HOSTNAME"); d.text("/prod\n")
    d.text("2026-11-28 10:00:01,456 DEBUG request Authorization: Bearer "); d.value(secret() + secret(), "CREDENTIAL")
    d.text("\n2026-11-28 10:00:02,789 INFO  nic eth0 hwaddr "); d.value(mac(), "MAC_ADDRESS"); d.text(" mtu 9000\n")
    d.text("2026-11-28 10:00:03,000 WARN  profile at /home/"); d.value(rng.choice(USERS), "USERNAME"); d.text("/.config/app.yaml not found\n")


def hr_note(d):
    d.text("Employee record: Name: "); d.value(f"{rng.choice(FIRST)} {rng.choice(LAST)}", "PERSON")
    d.text(", SSN "); d.value(ssn(), "US_SSN"); d.text(", badge 00412.\n")


NOISE = [
    "at org.apache.catalina.core.StandardWrapperValve.invoke(StandardWrapperValve.java:199)\n",
    "loaded config.yaml and logback.xml from /etc/app (version 10.1.2.350)\n",
    "snmp oid 1.3.6.1.4.1.2021.10.1.3.1 returned 0.42 0.35 0.30\n",
    "build 2026.11.28.1 sha 9f3c2a1b7e5d4c3b2a19f8e7d6c5b4a3 took 1500 ms\n",
    "password = ${DB_PASSWORD} # set by the operator\n",
    "timestamp 2026-11-28 10:20:30.123456 elapsed 00:00:12.5\n",
    "Hi Team, please find attached the logs. Thanks!\n",
    "java.util.concurrent.TimeoutException: after 30000 ms on pool-3-thread-7\n",
]


def main():
    out, kilobytes = sys.argv[1], int(sys.argv[2])
    os.makedirs(os.path.join(out, "corpus"), exist_ok=True)
    makers = {"tickets.txt": ticket, "tickets.jsonl": ticket_export, "auth.log": auth_log, "app.conf": app_config, "app.log": app_log, "hr.txt": hr_note}
    docs = {name: Doc() for name in makers}
    budget = kilobytes * 1000
    while sum(d.pos for d in docs.values()) < budget:
        name = rng.choice(list(makers))
        makers[name](docs[name])
        if name != "tickets.jsonl":
            docs[name].text(rng.choice(NOISE))
    with open(os.path.join(out, "labels.jsonl"), "w") as labels:
        for name, doc in docs.items():
            with open(os.path.join(out, "corpus", name), "w", encoding="utf-8") as f:
                f.write("".join(doc.parts))
            for start, end, entity in doc.labels:
                labels.write(json.dumps({"file": name, "start": start, "end": end, "entity": entity}) + "\n")


if __name__ == "__main__":
    main()
