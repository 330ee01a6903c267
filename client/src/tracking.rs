//! Shipment tracking in the client: event times as given on the command line, the timeline of
//! `track show`, and the lines `track follow` prints for each committed tracking event.

use portledger_ledger::date::{format_ms, parse_datetime_ms};
use serde_json::{json, Value};

use crate::output::{plain, rows, table};

/// An event time from `--time`: an ISO 8601 date-time (`2026-11-20T08:30:00Z`, with an offset,
/// or UTC when none) or a date (midnight UTC); `None` means now.
pub fn event_time_ms(given: Option<&str>, now_ms: u64) -> Result<u64, String> {
    match given {
        None => Ok(now_ms),
        Some(t) => parse_datetime_ms(t).map_err(|e| {
            format!(
                "--time: {e}; give an ISO 8601 date-time such as 2026-11-20T08:30:00Z or a date"
            )
        }),
    }
}

/// The timeline of `track show` (the node's `{position, events}`) as text: where it is now,
/// then every event, oldest first.
pub fn timeline(v: &Value) -> String {
    let mut out = String::new();
    let p = &v["position"];
    if p.is_null() {
        out.push_str("position  no tracking events yet\n");
    } else {
        out.push_str(&format!(
            "position  {} ({}) at {}, {}, container {} of {}, height {}\n",
            plain(&p["code"]),
            plain(&p["description"]),
            plain(&p["location"]),
            plain(&p["event_time"]),
            plain(&p["container"]),
            plain(&p["reference"]),
            plain(&p["height"]),
        ));
    }
    let rows = rows(
        &v["events"],
        &[
            "event_time",
            "code",
            "container",
            "location",
            "recorded_by",
            "height",
            "tx_hash",
        ],
    );
    if !rows.is_empty() {
        out.push_str(&table(
            &[
                "EVENT TIME",
                "CODE",
                "CONTAINER",
                "AT",
                "RECORDED BY",
                "HEIGHT",
                "TX",
            ],
            &rows,
        ));
    }
    out
}

/// The tracking events of one committed transaction (an `/v1/events` event), each as the JSON
/// object `track follow --json` prints, keeping only `container` when given.
pub fn followed_events(committed: &Value, container: Option<&str>) -> Vec<Value> {
    let Some(list) = committed["tracking"].as_array() else {
        return Vec::new();
    };
    list.iter()
        .filter(|t| container.is_none_or(|c| t["container"].as_str() == Some(c)))
        .map(|t| {
            let event_time = t["event_time_ms"]
                .as_u64()
                .map_or(Value::Null, |ms| json!(format_ms(ms)));
            let block_time = committed["time_ms"]
                .as_u64()
                .map_or(Value::Null, |ms| json!(format_ms(ms)));
            json!({
                "code": t["code"],
                "container": t["container"],
                "reference": t["reference"],
                "location": t["location"],
                "event_time": event_time,
                "event_time_ms": t["event_time_ms"],
                "recorded_by": committed["signer_alias"].as_str().map_or(committed["signer"].clone(), |a| json!(a)),
                "height": committed["height"],
                "block_time": block_time,
                "tx_hash": committed["tx_hash"],
            })
        })
        .collect()
}

/// One followed event as a line of text.
pub fn follow_line(e: &Value) -> String {
    format!(
        "{}  {}  {}  {}  at {}  by {}  height {}  tx {}",
        plain(&e["event_time"]),
        plain(&e["code"]),
        plain(&e["reference"]),
        plain(&e["container"]),
        plain(&e["location"]),
        plain(&e["recorded_by"]),
        plain(&e["height"]),
        plain(&e["tx_hash"]),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_follow_lines() {
        assert_eq!(event_time_ms(None, 42), Ok(42));
        assert_eq!(event_time_ms(Some("1970-01-02"), 0), Ok(86_400_000));
        assert!(event_time_ms(Some("tomorrow"), 0).is_err());
        let committed = json!({"height": 7, "time_ms": 1000, "signer": "ab", "signer_alias": "port",
            "tx_hash": "ff", "tracking": [
                {"reference": "BL-1", "container": "MSCU1234566", "code": "GTIN", "location": "CNSHA", "event_time_ms": 0},
                {"reference": "BL-1", "container": "TGHU7654320", "code": "GTIN", "location": "CNSHA", "event_time_ms": 0}]});
        let all = followed_events(&committed, None);
        assert_eq!(all.len(), 2);
        let one = followed_events(&committed, Some("TGHU7654320"));
        assert_eq!(one.len(), 1);
        assert_eq!(one[0]["recorded_by"], "port");
        let line = follow_line(&one[0]);
        assert!(
            line.contains("GTIN  BL-1  TGHU7654320  at CNSHA  by port  height 7"),
            "{line}"
        );
        assert!(followed_events(&json!({"height": 1}), None).is_empty());
        let t = timeline(&json!({"position": null, "events": []}));
        assert!(t.contains("no tracking events"), "{t}");
    }
}
