#!/usr/bin/env python3
"""Extracts the transport documents from the `examples:` blocks of the DCSA eBL 3.0.4 OpenAPI
files into client/tests/fixtures/dcsa/*.json, unedited (YAML converted to JSON, key order kept).

Usage: scripts/extract-dcsa-fixtures.py SPEC_DIR  (the folder holding EBL_v3.0.4.yaml and
EBL_ISS_v3.0.4.yaml). Identical documents are written once.
"""
import datetime
import hashlib
import json
import os
import sys

import yaml


class NoDates(yaml.SafeLoader):
    """Keeps timestamps and dates as the strings the spec wrote."""


for ch, resolvers in list(NoDates.yaml_implicit_resolvers.items()):
    NoDates.yaml_implicit_resolvers[ch] = [
        (tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"
    ]


def examples(node):
    return node["content"]["application/json"]["examples"]


def main(spec_dir):
    out = os.path.join(os.path.dirname(__file__), "..", "client", "tests", "fixtures", "dcsa")
    ebl = yaml.load(open(os.path.join(spec_dir, "EBL_v3.0.4.yaml")), Loader=NoDates)["paths"]
    iss = yaml.load(open(os.path.join(spec_dir, "EBL_ISS_v3.0.4.yaml")), Loader=NoDates)["paths"]
    td = "/v3/transport-documents/{transportDocumentReference}"
    docs = []
    for name, ex in examples(ebl[td]["get"]["responses"]["200"]).items():
        docs.append((f"ebl-get-{name}", ex["value"]))
    amend = ebl[td + "/amendment"]
    for name, ex in examples(amend["put"]["requestBody"]).items():
        docs.append((f"ebl-amendment-put-{name}", ex["value"]))
    for name, ex in examples(amend["get"]["responses"]["200"]).items():
        docs.append((f"ebl-amendment-get-{name}", ex["value"]["amendedTransportDocument"]))
    notes = ebl["/v3/transport-document-notifications"]["post"]["requestBody"]
    for name, ex in examples(notes).items():
        doc = ex["value"].get("data", {}).get("transportDocument")
        if doc is not None:
            docs.append((f"ebl-notification-{name}", doc))
    for name, ex in examples(iss["/v3/ebl-issuance-requests"]["put"]["requestBody"]).items():
        docs.append((f"iss-request-{name}", ex["value"]))
    seen = {}
    for name, doc in docs:
        digest = hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()
        if digest in seen:
            print(f"{name}: same as {seen[digest]}, skipped")
            continue
        seen[digest] = name
        path = os.path.join(out, f"{name}.json")
        with open(path, "w") as f:
            json.dump(doc, f, indent=2, ensure_ascii=False)
            f.write("\n")
        print(f"wrote {os.path.relpath(path)}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
