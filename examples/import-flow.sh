#!/usr/bin/env bash
# The contactless import of domain.md, end to end, against a running `portledger-node dev`,
# with the export side at the port of loading and the container's tracking events before it.
#
#   cargo run --release -p portledger-node -- dev          # in one terminal
#   examples/import-flow.sh                                 # in another
#
# Every step is one signed transaction, submitted by the party whose demo key signs it, and
# printed with its transaction hash and the height of the block that made it final. Reads are
# signed too, and each party sees what the read matrix lets it (ledger/READS.md); `status`,
# `verify-proof` (offline) and `doc verify` (a public summary) need no key.
# Environment: PORTLEDGER (client binary, default: target/release/portledger or `portledger`),
# DEVNET (default ./devnet), PORTLEDGER_NODE (default http://127.0.0.1:8080).
set -euo pipefail
cd "$(dirname "$0")/.."
DEVNET=${DEVNET:-./devnet}
if [ -z "${PORTLEDGER:-}" ]; then
  if [ -x target/release/portledger ]; then PORTLEDGER=target/release/portledger
  elif [ -x target/debug/portledger ]; then PORTLEDGER=target/debug/portledger
  else PORTLEDGER=portledger; fi
fi
K="$DEVNET/keys"
as() { local who=$1; shift; echo "+ [$who] portledger $*" >&2; "$PORTLEDGER" --key "$K/$who.key" "$@"; }
run() { echo "+ portledger $*" >&2; "$PORTLEDGER" "$@"; }

# Unique references, so the script can run more than once on the same network.
N=$(date +%s)
# A container of its own too (one container stands on one live eBL at a time): MSCU, a serial
# from the run, and the ISO 6346 check digit (M=24 S=30 C=13 U=32, weights 2^i, mod 11 mod 10).
SERIAL=$(printf '%06d' $((N % 1000000)))
SUM=$((24 + 30 * 2 + 13 * 4 + 32 * 8))
for i in 0 1 2 3 4 5; do SUM=$((SUM + ${SERIAL:$i:1} * (1 << (i + 4)))); done
CTR="MSCU${SERIAL}$((SUM % 11 % 10))"
LC="LC-$N"; BL="BL-$N"; DEC="IMP-$N"; EXP="EXP-$N"
TODAY=$(date -u +%F); EXPIRY=$(date -u -d "+90 days" +%F); SHIP_BY=$(date -u -d "+30 days" +%F)
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT

cat > "$W/lc.json" <<JSON
{"number": "$LC", "applicant": "buyer", "beneficiary": "seller",
 "issuing_bank": "issuing-bank", "advising_bank": "advising-bank",
 "currency": "USD", "amount": "125000.00",
 "expiry_date": "$EXPIRY", "expiry_place": "NLRTM", "latest_shipment_date": "$SHIP_BY",
 "presentation_days": 21, "documents_required": ["transport_document", "commercial_invoice"],
 "goods": "4,000 cartons of leather shoes"}
JSON
cat > "$W/bl.json" <<JSON
{"reference": "$BL", "kind": "BOL", "to_order": true, "shipper": "seller",
 "notify_parties": ["Buyer Co, Rotterdam"], "vessel_name": "MV Harbour Star", "voyage": "042W",
 "port_of_loading": "CNSHA", "port_of_discharge": "NLRTM", "shipped_on_board_date": "$TODAY",
 "goods": [{"description": "Leather shoes", "hs_code": "640399", "packages": 400, "gross_weight_kg": 12000}],
 "equipment": [{"container": "$CTR", "seals": ["SL-778899"]}], "freight_term": "PRE"}
JSON
cat > "$W/declaration.json" <<JSON
{"number": "$DEC", "direction": "IMPORT", "declarant": "buyer", "transport_document": "$BL",
 "lines": [{"hs_code": "640399", "description": "Leather shoes", "origin_country": "CN",
            "value": "125000.00", "currency": "USD"}]}
JSON
cat > "$W/export.json" <<JSON
{"number": "$EXP", "direction": "EXPORT", "declarant": "seller", "transport_document": "$BL",
 "lines": [{"hs_code": "640399", "description": "Leather shoes", "origin_country": "CN",
            "value": "125000.00", "currency": "USD"}]}
JSON
GATE_IN=$(date -u -d "-2 hours" +%FT%TZ)
printf 'Commercial invoice INV-%s: 4,000 cartons of leather shoes, USD 125,000.00\n' "$N" > "$W/invoice.txt"

run status
echo "== 1. The buyer applies for a credit; the buyer's bank issues it; the seller's bank advises it"
as buyer lc apply --file "$W/lc.json"
as issuing-bank lc issue "$LC"
as advising-bank lc advise "$LC"
echo "== 2. The carrier issues the eBL to order; the seller holds it"
as carrier bl issue --file "$W/bl.json"
as seller bl show "$BL"
echo "== 2a. Export side at the port of loading: export declaration, gate-in, load (which confirms exit)"
as seller customs declare --file "$W/export.json"
as customs customs accept "$EXP"
as port track event "$BL" --container "$CTR" --code GTIN --at CNSHA --time "$GATE_IN"
echo "   (loading before customs releases the export declaration is refused:)"
! as port track event "$BL" --container "$CTR" --code LOAD --at CNSHA
as customs customs release "$EXP"
as port track event "$BL" --container "$CTR" --code LOAD --at CNSHA
as customs customs show "$EXP"
echo "== 2b. The voyage: departure from Shanghai, arrival and discharge at Rotterdam"
as carrier track event "$BL" --container "$CTR" --code DEPA --at CNSHA
as carrier track event "$BL" --container "$CTR" --code ARRI --at NLRTM
as port track event "$BL" --container "$CTR" --code DISC --at NLRTM
echo "== 3. The seller anchors the invoice and presents it with the eBL: the eBL passes to the issuing bank"
as seller doc anchor "$W/invoice.txt" --type commercial_invoice --ref "$BL" --ref "$LC"
INVOICE=$(sha256sum "$W/invoice.txt" | cut -d' ' -f1)
as seller lc present "$LC" --bl "$BL" --doc "$INVOICE"
echo "== 4. The bank examines and honours: the eBL passes to the buyer in the same transaction"
as issuing-bank lc examine "$LC" --complying
as issuing-bank lc honour "$LC" --payment-ref "PAY-$N"
as buyer bl show "$BL"
echo "== 5. The buyer lodges the import declaration; customs accepts and releases"
as buyer customs declare --file "$W/declaration.json"
as buyer case "$BL"
as customs customs queue
as customs customs accept "$DEC"
as customs customs release "$DEC"
echo "== 6. The buyer surrenders the eBL; the carrier accepts and issues the delivery order"
as buyer bl surrender "$BL"
as carrier bl accept-surrender "$BL"
as carrier delivery-order issue "$BL" --to buyer
echo "== 7. The port releases the cargo at the gate (recording the container's gate-out, GTOT)"
as port port release "$BL"
as buyer case "$BL"
as buyer track show "$BL"
as port track show --container "$CTR"
echo "== 8. Customs reads the bill of lading's history and verifies it against genesis"
as customs bl history "$BL"
as customs proof "$BL" --out "$W/$BL.proof"
run verify-proof "$W/$BL.proof" --genesis "$DEVNET/genesis.json"
as customs verify-chain --genesis "$DEVNET/genesis.json"
run doc verify "$W/invoice.txt"
