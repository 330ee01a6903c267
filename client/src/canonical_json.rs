//! Canonical JSON (RFC 8785, the JSON Canonicalization Scheme, by the `serde_jcs` crate) and its
//! hash: the bytes a JSON input's document hash pins, so that reformatting a file (key order,
//! whitespace, number spelling) does not change the hash.

use portledger_ledger::Hash;
use serde_json::Value;

/// The RFC 8785 canonical JSON of a value. A `serde_json::Value` always has one (its numbers are
/// finite), so this cannot fail; an empty string would never be returned for a real value.
pub fn canonical_json(v: &Value) -> String {
    serde_jcs::to_string(v).unwrap_or_default()
}

/// SHA-256 of the canonical JSON of a value.
pub fn canonical_hash(v: &Value) -> Hash {
    Hash::of(canonical_json(v).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_json_sorts_keys_at_every_depth() {
        let a = json!({"b": 1, "a": {"d": [1, {"z": 0, "y": "x"}], "c": null}});
        assert_eq!(
            canonical_json(&a),
            r#"{"a":{"c":null,"d":[1,{"y":"x","z":0}]},"b":1}"#
        );
    }

    #[test]
    fn numbers_and_strings_follow_rfc_8785() {
        // RFC 8785 section 3.2.2.3: numbers as ECMAScript prints them; 3.2.2.2: minimal escapes.
        let v: Value = serde_json::from_str(
            r#"{"n": [1.0, 1e21, 0.000001, -0.0, 1E-7], "s": "\u00e9\u000f"}"#,
        )
        .expect("json");
        assert_eq!(
            canonical_json(&v),
            "{\"n\":[1,1e+21,0.000001,0,1e-7],\"s\":\"\u{e9}\\u000f\"}"
        );
        // Keys sort by UTF-16 code units, not by UTF-8 bytes.
        let v: Value = serde_json::from_str("{\"\u{e000}\": 1, \"\u{1f600}\": 2}").expect("json");
        assert_eq!(canonical_json(&v), "{\"\u{1f600}\":2,\"\u{e000}\":1}");
    }
}
