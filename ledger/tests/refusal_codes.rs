//! The refusal code table in `ledger/RULES.md` lists every code the rules can answer, once.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeSet;

use portledger_ledger::error::ALL_CODES;
use portledger_ledger::RuleError;

#[test]
fn every_code_is_documented() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/RULES.md"))
        .expect("ledger/RULES.md");
    let unique: BTreeSet<&str> = ALL_CODES.iter().copied().collect();
    assert_eq!(unique.len(), ALL_CODES.len(), "a code is listed twice");
    for code in ALL_CODES {
        assert!(
            doc.contains(&format!("| `{code}` |")),
            "{code} has no row in ledger/RULES.md"
        );
    }
}

#[test]
fn codes_are_those_of_the_list_and_fields_are_structured() {
    let samples = [
        RuleError::BadNonce {
            expected: 7,
            found: 1,
        },
        RuleError::ReleaseCondition {
            reference: "BL-1".into(),
            unmet: vec!["a".into(), "b".into()],
        },
        RuleError::ContainerOnLiveDocument {
            container: "MSCU1234566".into(),
            reference: "BL-2".into(),
        },
        RuleError::NotEntitled("x".into()),
        RuleError::MissingDocument {
            credit: "LC-1".into(),
            doc_type: "commercial_invoice".into(),
        },
    ];
    for e in &samples {
        assert!(
            ALL_CODES.contains(&e.code()),
            "{} not in ALL_CODES",
            e.code()
        );
    }
    assert_eq!(samples[0].fields()["expected"], 7);
    assert_eq!(samples[1].fields()["unmet"][1], "b");
    assert_eq!(samples[2].fields()["reference"], "BL-2");
    assert_eq!(samples[4].fields()["doc_type"], "commercial_invoice");
}
