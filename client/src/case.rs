//! Human output of `portledger case` (the summary first, then one section per part of the
//! case), `portledger customs queue` and `portledger bl declarations`, from the node's JSON.

use serde_json::Value;

use crate::money::format_amount;
use crate::output::{fields, plain, rows, table};

fn section(out: &mut String, title: &str) {
    out.push('\n');
    out.push_str(title);
    out.push('\n');
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}

/// A duty `{"amount_minor", "currency", ...}` as `1250.00 USD`, or `-`.
fn duty(d: &Value) -> String {
    match (d["amount_minor"].as_u64(), d["currency"].as_str()) {
        (Some(m), Some(c)) => {
            let paid = d["payment_reference"]
                .as_str()
                .map_or(" (unpaid)".to_string(), |r| format!(" (paid, {r})"));
            format!("{} {c}{paid}", format_amount(m, c))
        }
        _ => "-".into(),
    }
}

/// `GET /v1/bl/{ref}/case` as text: the summary lines, then the document, the possession
/// chain, credits, declarations, anchored documents and each container's journey.
pub fn case(v: &Value) -> String {
    let mut out = String::new();
    for line in v["summary"].as_array().into_iter().flatten() {
        out.push_str(&plain(line));
        out.push('\n');
    }

    section(&mut out, "Transport document");
    out.push_str(&indent(&fields(
        &v["transport_document"],
        &[
            ("reference", "/reference"),
            ("kind", "/kind"),
            ("to order", "/to_order"),
            ("state", "/state"),
            ("possessor", "/possessor"),
            ("endorsee", "/endorsee"),
            ("blank endorsed", "/blank_endorsed"),
            ("carrier", "/carrier"),
            ("shipper", "/shipper"),
            ("consignee", "/consignee"),
            ("notify", "/notify_parties"),
            ("vessel", "/vessel_name"),
            ("voyage", "/voyage"),
            ("port of loading", "/port_of_loading"),
            ("port of discharge", "/port_of_discharge"),
            ("freight", "/freight_term"),
            ("freight paid", "/freight_paid"),
            ("surrendered by", "/surrendered_by"),
            ("delivery order to", "/delivery_order_to"),
            ("presented under", "/presented_under"),
            ("replaces", "/replaces"),
            ("replaced by", "/replaced_by"),
            ("sealed fields", "/sealed"),
        ],
    )));

    section(&mut out, "Possession and endorsement chain");
    let chain = rows(
        &v["possession_chain"],
        &[
            "height",
            "time",
            "action",
            "signer",
            "possessor",
            "endorsee",
            "credit",
        ],
    );
    if chain.is_empty() {
        out.push_str("  none\n");
    } else {
        out.push_str(&indent(&table(
            &[
                "HEIGHT",
                "TIME",
                "ACTION",
                "SIGNER",
                "POSSESSOR",
                "ENDORSEE",
                "CREDIT",
            ],
            &chain,
        )));
    }

    section(&mut out, "Credits presented under");
    let credits = rows(
        &v["credits"],
        &[
            "number",
            "state",
            "applicant",
            "beneficiary",
            "issuing_bank",
            "presented_at",
            "payment_reference",
        ],
    );
    if credits.is_empty() {
        out.push_str("  none\n");
    } else {
        out.push_str(&indent(&table(
            &[
                "NUMBER",
                "STATE",
                "APPLICANT",
                "BENEFICIARY",
                "ISSUING BANK",
                "PRESENTED",
                "PAYMENT",
            ],
            &credits,
        )));
    }

    section(&mut out, "Customs declarations");
    let declarations: Vec<Vec<String>> = v["declarations"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| {
            let holds = d["holds"].as_array().map_or(0, Vec::len);
            let open_hold = d["holds"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|h| h["cleared_at"].is_null());
            vec![
                plain(&d["number"]),
                plain(&d["direction"]),
                plain(&d["declarant"]),
                plain(&d["state"]),
                plain(&d["containers"]),
                duty(&d["duty"]),
                match (holds, open_hold) {
                    (0, _) => "-".into(),
                    (n, true) => format!("{n} (one open)"),
                    (n, false) => format!("{n} (cleared)"),
                },
                plain(&d["reason"]),
            ]
        })
        .collect();
    if declarations.is_empty() {
        out.push_str("  none\n");
    } else {
        out.push_str(&indent(&table(
            &[
                "NUMBER",
                "DIRECTION",
                "DECLARANT",
                "STATE",
                "CONTAINERS",
                "DUTY",
                "HOLDS",
                "REASON",
            ],
            &declarations,
        )));
    }

    section(&mut out, "Anchored documents");
    let anchors = rows(
        &v["anchored_documents"],
        &[
            "type",
            "issuer",
            "anchored_at",
            "presented_under",
            "revoked",
            "hash",
        ],
    );
    if anchors.is_empty() {
        out.push_str("  none\n");
    } else {
        out.push_str(&indent(&table(
            &[
                "TYPE",
                "ISSUER",
                "ANCHORED",
                "PRESENTED UNDER",
                "REVOKED",
                "HASH",
            ],
            &anchors,
        )));
    }

    for c in v["containers"].as_array().into_iter().flatten() {
        section(&mut out, &format!("Container {}", plain(&c["container"])));
        let released = &c["released"];
        let status = if released.is_null() {
            "not released".to_string()
        } else {
            format!(
                "released to {} at {} (height {})",
                plain(&released["to"]),
                plain(&released["time"]),
                plain(&released["height"])
            )
        };
        out.push_str(&format!(
            "  seals {}; delivery order to {}; {status}\n",
            plain(&c["seals"]),
            plain(&c["delivery_order_to"])
        ));
        for u in c["unmet"].as_array().into_iter().flatten() {
            out.push_str(&format!("  unmet: {}\n", plain(u)));
        }
        let journey = rows(
            &c["journey"],
            &["event_time", "code", "location", "recorded_by", "height"],
        );
        if journey.is_empty() {
            out.push_str("  no tracking events\n");
        } else {
            out.push_str(&indent(&table(
                &["EVENT TIME", "CODE", "AT", "RECORDED BY", "HEIGHT"],
                &journey,
            )));
        }
    }
    out.push_str(&format!("\nas of height {}\n", plain(&v["height"])));
    out
}

/// `GET /v1/customs/queue` as text: one row per declaration, the longest waiting first.
pub fn queue(v: &Value) -> String {
    let rows = rows(
        &v["declarations"],
        &[
            "waiting_since",
            "number",
            "direction",
            "transport_document",
            "declarant",
            "state",
            "awaiting",
        ],
    );
    if rows.is_empty() {
        return "no declarations waiting for customs\n".into();
    }
    table(
        &[
            "WAITING SINCE",
            "NUMBER",
            "DIRECTION",
            "TRANSPORT DOCUMENT",
            "DECLARANT",
            "STATE",
            "CUSTOMS TO",
        ],
        &rows,
    )
}

/// `GET /v1/bl/{ref}/declarations` as text.
pub fn declarations(v: &Value) -> String {
    let rows = rows(
        &v["declarations"],
        &["number", "direction", "declarant", "state", "containers"],
    );
    if rows.is_empty() {
        return format!("no declarations name {}\n", plain(&v["reference"]));
    }
    table(
        &["NUMBER", "DIRECTION", "DECLARANT", "STATE", "CONTAINERS"],
        &rows,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_summary_comes_first_then_the_sections() {
        let v = json!({
            "height": 9,
            "summary": ["eBL B is ISSUED, held by buyer",
                        "container MSCU1234566 not released: 1 condition unmet",
                        "  - the carrier has not issued a delivery order for B"],
            "transport_document": {"reference": "B", "state": "ISSUED", "possessor": "buyer"},
            "possession_chain": [{"height": 2, "time": "t", "action": "bl.issue", "signer": "carrier",
                                  "possessor": "seller", "endorsee": "seller", "credit": null}],
            "credits": [],
            "declarations": [{"number": "IM-1", "direction": "IMPORT", "declarant": "buyer",
                              "state": "HELD", "containers": ["MSCU1234566"],
                              "duty": {"amount_minor": 125000, "currency": "USD", "payment_reference": null},
                              "holds": [{"cleared_at": null}], "reason": "x-ray"}],
            "anchored_documents": [],
            "containers": [{"container": "MSCU1234566", "seals": [], "delivery_order_to": null,
                            "released": null, "unmet": ["the carrier has not issued a delivery order for B"],
                            "journey": []}]
        });
        let text = case(&v);
        assert!(text.starts_with("eBL B is ISSUED, held by buyer\ncontainer MSCU1234566"));
        let at = |s: &str| text.find(s).unwrap_or_else(|| panic!("{s:?} in {text}"));
        assert!(at("Transport document") < at("Possession and endorsement chain"));
        assert!(at("Possession and endorsement chain") < at("Customs declarations"));
        assert!(text.contains("1250.00 USD (unpaid)"), "{text}");
        assert!(text.contains("1 (one open)"), "{text}");
        assert!(text.contains("Credits presented under\n  none"), "{text}");
        assert!(text.contains("unmet: the carrier has not issued"), "{text}");
    }

    #[test]
    fn an_empty_queue_says_so() {
        assert_eq!(
            queue(&json!({"declarations": []})),
            "no declarations waiting for customs\n"
        );
        let q = queue(
            &json!({"declarations": [{"number": "IM-1", "state": "LODGED",
            "awaiting": "accept or reject", "waiting_since": "t", "direction": "IMPORT",
            "transport_document": "B", "declarant": "buyer"}]}),
        );
        assert!(
            q.lines()
                .nth(1)
                .is_some_and(|l| l.contains("IM-1") && l.contains("accept or reject")),
            "{q}"
        );
    }
}
