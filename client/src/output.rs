//! Human output of `portledger`: status, document fields, histories (who, what, when, height).
//! With `--json` the commands print one JSON document instead.

use serde_json::Value;

/// A JSON value as plain text (strings without quotes, null as `-`).
pub fn plain(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        Value::Array(a) if a.is_empty() => "-".into(),
        Value::Array(a) if a.iter().all(|x| !x.is_object() && !x.is_array()) => {
            a.iter().map(plain).collect::<Vec<_>>().join(", ")
        }
        other => other.to_string(),
    }
}

/// `label  value` lines for the given (label, JSON pointer) pairs; absent fields are skipped.
pub fn fields(v: &Value, wanted: &[(&str, &str)]) -> String {
    let width = wanted.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (label, ptr) in wanted {
        if let Some(x) = v.pointer(ptr) {
            out.push_str(&format!("{label:<width$}  {}\n", plain(x)));
        }
    }
    out
}

/// A table with a header row; columns padded to their widest cell.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(c.chars().count());
            }
        }
    }
    let line = |cells: Vec<String>| {
        let n = cells.len();
        let mut s = String::new();
        for (i, c) in cells.into_iter().enumerate() {
            if i + 1 == n {
                s.push_str(&c);
            } else {
                let w = widths.get(i).copied().unwrap_or(0);
                s.push_str(&format!("{c:<w$}  "));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(header.iter().map(|h| (*h).to_string()).collect());
    for r in rows {
        out.push_str(&line(r.clone()));
    }
    out
}

/// The rows of a table: for each object of the JSON array `list`, its `keys` in plain text.
pub fn rows(list: &Value, keys: &[&str]) -> Vec<Vec<String>> {
    list.as_array()
        .map(|items| {
            items
                .iter()
                .map(|item| keys.iter().map(|k| plain(&item[*k])).collect())
                .collect()
        })
        .unwrap_or_default()
}

/// A document's history (`{"events": [...]}`) as a table: height, time, signer, action, tx.
pub fn history(v: &Value) -> String {
    let rows = rows(
        &v["events"],
        &["height", "time", "signer", "action", "tx_hash"],
    );
    if rows.is_empty() {
        return "no events\n".into();
    }
    table(&["HEIGHT", "TIME", "SIGNER", "ACTION", "TX"], &rows)
}

/// `portledger status` as text.
pub fn status(v: &Value) -> String {
    let mut out = fields(
        v,
        &[
            ("chain", "/chain_id"),
            ("height", "/height"),
            ("last block", "/last_block_hash"),
            ("last block time", "/last_block_time"),
            ("round", "/round"),
        ],
    );
    let peers = v["peers"].as_array().map_or(0, Vec::len);
    out.push_str(&format!("peers            {peers}\n"));
    let rows: Vec<Vec<String>> = v["validators"]
        .as_array()
        .map(|vs| {
            vs.iter()
                .map(|x| {
                    vec![
                        plain(&x["alias"]),
                        plain(&x["public_key"]),
                        if x["up"] == Value::Bool(true) {
                            "up".into()
                        } else {
                            "down".into()
                        },
                    ]
                })
                .collect()
        })
        .unwrap_or_default();
    out.push_str(&table(&["VALIDATOR", "PUBLIC KEY", "UP"], &rows));
    out
}

/// `bl show` as text.
pub fn transport_document(v: &Value) -> String {
    fields(
        v,
        &[
            ("reference", "/reference"),
            ("state", "/state"),
            ("kind", "/kind"),
            ("to order", "/to_order"),
            ("possessor", "/possessor"),
            ("endorsee", "/endorsee"),
            ("blank endorsed", "/blank_endorsed"),
            ("carrier", "/carrier"),
            ("shipper", "/shipper"),
            ("consignee", "/consignee"),
            ("vessel", "/document/vessel_name"),
            ("voyage", "/document/voyage"),
            ("port of loading", "/document/port_of_loading"),
            ("port of discharge", "/document/port_of_discharge"),
            ("freight term", "/document/freight_term"),
            ("freight paid", "/freight_paid"),
            ("presented under", "/presented_under"),
            ("surrendered by", "/surrendered_by"),
            ("delivery order to", "/delivery_order_to"),
            ("released", "/released_containers"),
            ("replaces", "/replaces"),
            ("replaced by", "/replaced_by"),
            ("document hash", "/document/document_hash"),
            ("sealed fields", "/sealed"),
            ("carrier code", "/document/dcsa/carrier_code/code"),
            ("code provider", "/document/dcsa/carrier_code/provider"),
        ],
    )
}

/// Adds `amount` (decimal, with currency) beside a credit's `amount_minor`, and `duty` as a
/// decimal amount for a declaration's `[minor, currency]` duty.
fn with_amounts(v: &Value) -> Value {
    let mut v = v.clone();
    if let (Some(m), Some(c)) = (v["amount_minor"].as_u64(), v["currency"].as_str()) {
        v["amount"] = Value::String(format!("{} {c}", crate::money::format_amount(m, c)));
    }
    if let (Some(m), Some(c)) = (v["duty"][0].as_u64(), v["duty"][1].as_str()) {
        v["duty"] = Value::String(format!("{} {c}", crate::money::format_amount(m, c)));
    }
    v
}

/// `lc show` as text.
pub fn credit(v: &Value) -> String {
    fields(
        &with_amounts(v),
        &[
            ("number", "/number"),
            ("state", "/state"),
            ("applicant", "/applicant"),
            ("beneficiary", "/beneficiary"),
            ("issuing bank", "/issuing_bank"),
            ("advising bank", "/advising_bank"),
            ("confirming bank", "/confirming_bank"),
            ("amount", "/amount"),
            ("expiry date", "/expiry_date"),
            ("presented eBL", "/presentation/transport_document"),
            ("discrepancies", "/presentation/discrepancies"),
            ("payment reference", "/payment_reference"),
        ],
    )
}

/// `customs show` as text.
pub fn declaration(v: &Value) -> String {
    fields(
        &with_amounts(v),
        &[
            ("number", "/number"),
            ("state", "/state"),
            ("direction", "/direction"),
            ("declarant", "/declarant"),
            ("transport document", "/transport_document"),
            ("containers", "/containers"),
            ("reason", "/reason"),
            ("duty", "/duty"),
        ],
    )
}

/// An anchored document as text.
pub fn anchored(v: &Value) -> String {
    fields(
        v,
        &[
            ("hash", "/hash"),
            ("type", "/type"),
            ("issuer", "/issuer"),
            ("by authority", "/by_authority"),
            ("references", "/references"),
            ("height", "/height"),
            ("time", "/time"),
            ("revoked", "/revoked"),
            ("superseded by", "/superseded_by"),
        ],
    )
}

/// `block show` as text.
pub fn block(v: &Value) -> String {
    let mut out = fields(
        v,
        &[
            ("height", "/height"),
            ("hash", "/hash"),
            ("previous hash", "/previous_hash"),
            ("time", "/time"),
            ("proposer", "/proposer"),
            ("round", "/round"),
        ],
    );
    let txs = v["transactions"].as_array().cloned().unwrap_or_default();
    out.push_str(&format!("transactions   {}\n", txs.len()));
    for t in txs {
        out.push_str(&format!("  {}\n", plain(&t)));
    }
    out
}

/// `tx show` as text.
pub fn transaction(v: &Value) -> String {
    fields(
        v,
        &[
            ("tx", "/tx_hash"),
            ("status", "/status"),
            ("height", "/height"),
            ("index", "/index"),
            ("time", "/time"),
            ("signer", "/signer"),
            ("action", "/action"),
            ("nonce", "/transaction/body/nonce"),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn history_table_has_who_what_when_height() {
        let v = json!({"events": [
            {"height": 3, "time": "2026-11-22T05:00:00.000Z", "signer": "carrier", "action": "bl.issue", "tx_hash": "ab"},
            {"height": 10, "time": "2026-11-22T05:00:01.000Z", "signer": "seller", "action": "bl.transfer", "tx_hash": "cd"}
        ]});
        let t = history(&v);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("HEIGHT  TIME"));
        assert!(lines[1].contains("carrier") && lines[1].contains("bl.issue"));
        assert!(lines[2].starts_with("10 "));
    }

    #[test]
    fn plain_values() {
        assert_eq!(plain(&json!(null)), "-");
        assert_eq!(plain(&json!(["a", "b"])), "a, b");
        assert_eq!(plain(&json!("x")), "x");
    }
}
