#!/usr/bin/env python3
"""Writes a deterministic, realistic support-bundle corpus for redaction benchmarks.

Usage: make_corpus.py OUT_DIR MEGABYTES

The mix follows what support bundles hold: syslog and auth logs, application logs with
Java stack traces, JSON access logs, configuration files and ticket-like emails. Roughly
one line in four carries personal data or a secret; the rest is the noise a detector must
not fire on (versions, timestamps, OIDs, file names, Java packages, hex ids).
"""
import json
import os
import random
import sys

rng = random.Random(20261129)

FIRST = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"]
NAMES = ["Jane Doe", "Ken Watanabe", "Priya Raman", "Olga Berg", "Tomás Herrera", "Grace Okafor"]
DOMAINS = ["acme.com", "corp.acme.com", "globex.co.uk", "initech.io", "prod.local"]
HOSTS = ["web01", "web02", "db1", "db2", "cache-3", "lb-a", "k8s-node-7"]


def ip():
    return f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def host():
    return f"{rng.choice(HOSTS)}.{rng.choice(DOMAINS)}"


def ts():
    return f"2026-11-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}.{rng.randint(0, 999):03d}Z"


def syslog():
    kind = rng.random()
    if kind < 0.15:
        return f"{ts()} {rng.choice(HOSTS)} sshd[{rng.randint(100, 99999)}]: Failed password for user {rng.choice(FIRST)} from {ip()} port {rng.randint(1024, 65535)} ssh2"
    if kind < 0.25:
        return f"{ts()} {host()} kernel: eth0: link up, hwaddr 00:1a:2b:{rng.randint(0, 255):02x}:{rng.randint(0, 255):02x}:{rng.randint(0, 255):02x}"
    return f"{ts()} {rng.choice(HOSTS)} systemd[1]: Started session {rng.randint(1, 9999)} of service worker-{rng.randint(1, 9)}.service (version 4.{rng.randint(0, 20)}.{rng.randint(0, 400)})"


def app_log():
    kind = rng.random()
    if kind < 0.1:
        return (f"{ts()} ERROR [pool-{rng.randint(1, 9)}-thread-{rng.randint(1, 40)}] o.a.c.c.StandardWrapperValve - Servlet.service() threw exception\n"
                "java.lang.NullPointerException: null\n"
                "\tat com.acme.billing.InvoiceService.render(InvoiceService.java:212)\n"
                "\tat org.apache.catalina.core.ApplicationFilterChain.internalDoFilter(ApplicationFilterChain.java:193)\n"
                "\tat java.base/java.lang.Thread.run(Thread.java:833)")
    if kind < 0.2:
        return f"{ts()} INFO  connecting to jdbc:postgresql://{host()}:5432/billing?user=svc_billing&password=Pw{rng.randint(100000, 999999)}x!"
    if kind < 0.25:
        return f"{ts()} DEBUG request headers: Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyLXtyfSJ9.{rng.randbytes(24).hex()}"
    return f"{ts()} INFO  processed batch {rng.randint(1, 10**6)} in {rng.randint(1, 5000)} ms, checksum {rng.randbytes(8).hex()}, config=/etc/acme/app.yaml"


def access_log():
    return json.dumps({
        "ts": ts(), "remote": ip() if rng.random() < 0.6 else f"2001:db8:{rng.randint(0, 65535):x}::{rng.randint(1, 65535):x}",
        "method": rng.choice(["GET", "POST"]), "path": f"/api/v2/orders/{rng.randint(1, 10**7)}",
        "status": rng.choice([200, 200, 200, 404, 500]), "ua": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0.6099.109",
        "user": f"{rng.choice(FIRST)}@{rng.choice(DOMAINS[:3])}" if rng.random() < 0.3 else None,
    })


def config():
    return "\n".join([
        f"[database]\nhost = {host()}\nport = 5432\npassword = {rng.randbytes(9).hex()}",
        f"aws_access_key_id = AKIA{''.join(rng.choice('ABCDEFGHIJKLMNOPQRSTUVWXYZ234567') for _ in range(16))}",
        "log_level = info\nworkers = 8\nsnmp_oid = 1.3.6.1.4.1.2021.10.1.3.1",
    ])


def ticket():
    name = rng.choice(NAMES)
    first = name.split()[0]
    return (f"From: {name} <{first.lower()}@{rng.choice(DOMAINS[:3])}>\nSubject: Case update\n\nHi {rng.choice(NAMES).split()[0]},\n"
            f"the array at {ip()} still drops I/O. Call me on +1 555 {rng.randint(100, 999)} {rng.randint(1000, 9999)}.\n"
            f"Card on file 4111 1111 1111 1111 was charged.\n\nBest regards,\n{name}")


def main():
    out, megabytes = sys.argv[1], float(sys.argv[2])
    os.makedirs(out, exist_ok=True)
    kinds = [("syslog.log", syslog), ("app.log", app_log), ("access.jsonl", access_log), ("app.conf", config), ("tickets.txt", ticket)]
    weights = [0.35, 0.3, 0.25, 0.02, 0.08]
    files = {name: open(os.path.join(out, name), "w", encoding="utf-8") for name, _ in kinds}
    target = int(megabytes * 1e6)
    written = 0
    while written < target:
        name, make = rng.choices(kinds, weights)[0]
        line = make() + "\n"
        files[name].write(line)
        written += len(line.encode())
    for f in files.values():
        f.close()


if __name__ == "__main__":
    main()
