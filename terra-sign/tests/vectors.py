#!/usr/bin/env python3
"""Signature vectors computed outside the project, with Python's standard library only.

The Rust signer must reproduce every line this prints (`terra-sign/tests/vectors.rs`,
`independent_vectors` runs this script and compares). Nothing here imports project code:
the signing string is built from the reference (`../shared/terra-api.md` §2.2) by hand.

    python3 terra-sign/tests/vectors.py
"""
import base64
import hashlib
import hmac

DATE = "Wed, 25 Nov 2026 10:00:00 GMT"
ALGORITHMS = {
    "hmac-sha1": hashlib.sha1,
    "hmac-sha256": hashlib.sha256,
    "hmac-sha384": hashlib.sha384,
    "hmac-sha512": hashlib.sha512,
}


def vector(name, algorithm, secret, method, target, body, date=DATE, date_header="date"):
    digest = "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()
    signing = (
        f"{date_header}: {date}\n"
        f"@request-target: {method.lower()} {target}\n"
        f"digest: {digest}"
    )
    mac = hmac.new(secret.encode(), signing.encode(), ALGORITHMS[algorithm]).digest()
    print(f"{name}\t{algorithm}\t{digest}\t{base64.b64encode(mac).decode()}")


body = b'{"name":"test-resource","type":"map"}'
for alg in ALGORITHMS:
    vector(f"V1-{alg}", alg, "test-sk", "POST", "/terra-rescon-be/v2/resources", body)
# The official gateway example (reference §2.10) signed the way its `headers=` declares.
vector(
    "kong-example-request-target",
    "hmac-sha256",
    "secret",
    "GET",
    "/requests",
    b"A small body",
    date="Thu, 22 Jun 2017 21:12:36 GMT",
)
