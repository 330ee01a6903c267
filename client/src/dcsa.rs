//! DCSA eBL 3.0 `TransportDocument` (bare, or as the `document` of an issuance request) mapped
//! to the ledger's transport document fields.
//!
//! Mapping (DCSA name -> ledger field):
//! - `transportDocumentReference` -> `reference`; `transportDocumentTypeCode` (`BOL`/`SWB`) ->
//!   `kind`; `isToOrder` -> `to_order`; `freightPaymentTermCode` (`PRE`/`COL`) ->
//!   `freight_term`; `shippedOnBoardDate` -> `shipped_on_board_date` (optional).
//! - `documentParties.shipper` / `.consignee` / `.endorsee` -> shipper / consignee / endorsee,
//!   each mapped to a registered participant by the party rule below; `notifyParties[].partyName`
//!   -> `notify_parties`.
//! - `transports.portOfLoading.UNLocationCode`, `transports.portOfDischarge.UNLocationCode` ->
//!   ports; `transports.vesselVoyages[0].vesselName` / `.carrierExportVoyageNumber` -> vessel
//!   and voyage (the pre-3.0 flat `transports.vesselName` / `carrierExportVoyageNumber` are
//!   accepted too).
//! - each `consignmentItems[]` -> one goods line: `descriptionOfGoods` joined by "; ",
//!   `HSCodes[0]`, the sum of `cargoItems[].outerPackaging.numberOfPackages`, and the sum of
//!   `cargoItems[].cargoGrossWeight` (`unit` `KGM`, or `LBR` converted to kg, rounded).
//! - each `utilizedTransportEquipments[]` -> one container: `equipment.equipmentReference` (or
//!   `equipmentReference`), `seals[].number`.
//!
//! Party rule: a DCSA party is the registered participant whose alias or public key hex equals
//! the `partyCode` of one of its `identifyingCodes` (any `codeListProvider`); failing that, the
//! participant whose alias equals its `partyName` (trimmed, case-insensitive). The shipper must
//! map; a consignee or endorsee that is present must map; an issuance request's `issueTo` is used
//! as the first possessor when it maps and ignored otherwise.
//!
//! Every other DCSA field is kept in the sense that the document hash pins the whole document's
//! canonical JSON (or the `--render` file): change any byte of meaning and the hash changes.

use portledger_ledger::date::Date;
use portledger_ledger::documents::transport::{
    Equipment, FreightTerm, GoodsLine, TransportDocumentData, TransportDocumentKind,
};
use portledger_ledger::{Hash, PublicKey};
use serde_json::Value;

use crate::error::{ClientError, Result};
use crate::parties::Directory;

const WHAT: &str = "DCSA TransportDocument";

fn missing(field: &str) -> ClientError {
    ClientError::Input(format!("{WHAT}: missing required field {field}"))
}

fn invalid(field: &str, why: &str) -> ClientError {
    ClientError::Input(format!("{WHAT}: {field}: {why}"))
}

fn field<'a>(v: &'a Value, path: &str) -> Result<&'a Value> {
    let mut cur = v;
    for key in path.split('.') {
        cur = cur
            .get(key)
            .filter(|x| !x.is_null())
            .ok_or_else(|| missing(path))?;
    }
    Ok(cur)
}

fn string(v: &Value, path: &str) -> Result<String> {
    field(v, path)?
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| invalid(path, "must be a string"))
}

fn array<'a>(v: &'a Value, path: &str) -> Result<&'a Vec<Value>> {
    let a = field(v, path)?
        .as_array()
        .ok_or_else(|| invalid(path, "must be an array"))?;
    if a.is_empty() {
        return Err(invalid(path, "must list at least one item"));
    }
    Ok(a)
}

/// Maps a DCSA party object to a registered participant by the party rule of this module;
/// `None` when it names nobody registered.
pub fn map_party(path: &str, party: &Value, dir: &Directory) -> Result<Option<PublicKey>> {
    if !party.is_object() {
        return Err(invalid(path, "must be an object"));
    }
    if let Some(codes) = party.get("identifyingCodes").and_then(Value::as_array) {
        for c in codes {
            if let Some(code) = c.get("partyCode").and_then(Value::as_str) {
                if let Some(p) = dir.by_alias(code.trim()) {
                    return Ok(Some(p.public_key));
                }
                if let Ok(k) = PublicKey::from_hex(code.trim()) {
                    if dir.alias_of(&k).is_some() {
                        return Ok(Some(k));
                    }
                }
            }
        }
    }
    if let Some(name) = party.get("partyName").and_then(Value::as_str) {
        let name = name.trim().to_lowercase();
        if let Some(p) = dir
            .participants
            .iter()
            .find(|p| p.alias.to_lowercase() == name)
        {
            return Ok(Some(p.public_key));
        }
    }
    Ok(None)
}

fn required_party(doc: &Value, path: &str, dir: &Directory) -> Result<Option<PublicKey>> {
    let Some(p) = doc.pointer(&format!("/{}", path.replace('.', "/"))) else {
        return Ok(None);
    };
    if p.is_null() {
        return Ok(None);
    }
    match map_party(path, p, dir)? {
        Some(k) => Ok(Some(k)),
        None => Err(invalid(
            path,
            &format!(
                "{:?} is not a registered participant: give an identifyingCodes entry whose \
                 partyCode is a registered alias or public key, or a partyName equal to an alias",
                p.get("partyName").and_then(Value::as_str).unwrap_or("")
            ),
        )),
    }
}

fn kilograms(path: &str, w: &Value) -> Result<u64> {
    let (value, unit) = match w {
        Value::Object(_) => (
            field(w, "value")
                .map_err(|_| missing(&format!("{path}.value")))?
                .as_f64()
                .ok_or_else(|| invalid(&format!("{path}.value"), "must be a number"))?,
            w.get("unit").and_then(Value::as_str).unwrap_or("KGM"),
        ),
        Value::Number(n) => (
            n.as_f64()
                .ok_or_else(|| invalid(path, "must be a number"))?,
            "KGM",
        ),
        _ => return Err(invalid(path, "must be {\"value\", \"unit\"}")),
    };
    if !value.is_finite() || !(0.0..=1e12).contains(&value) {
        return Err(invalid(path, "must be a non-negative weight"));
    }
    let kg = match unit {
        "KGM" => value,
        "LBR" => value * 0.453_592_37,
        other => {
            return Err(invalid(
                &format!("{path}.unit"),
                &format!("must be KGM or LBR, got {other:?}"),
            ))
        }
    };
    // Bounded above, non-negative and finite: the conversion cannot wrap.
    Ok(kg.round() as u64)
}

fn goods_line(i: usize, item: &Value) -> Result<GoodsLine> {
    let p = format!("consignmentItems[{i}]");
    let descriptions: Vec<String> = match field(item, "descriptionOfGoods")
        .map_err(|_| missing(&format!("{p}.descriptionOfGoods")))?
    {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        _ => {
            return Err(invalid(
                &format!("{p}.descriptionOfGoods"),
                "must be a list of strings",
            ))
        }
    };
    let hs_code = match item.get("HSCodes") {
        Some(Value::Array(a)) => a.first().and_then(Value::as_str).map(str::to_string),
        Some(Value::String(s)) => Some(s.clone()),
        _ => item
            .get("HSCode")
            .and_then(Value::as_str)
            .map(str::to_string),
    }
    .ok_or_else(|| missing(&format!("{p}.HSCodes")))?;
    let cargo = item
        .get("cargoItems")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
        .ok_or_else(|| missing(&format!("{p}.cargoItems")))?;
    let mut packages: u32 = 0;
    let mut weight: u64 = 0;
    for (j, c) in cargo.iter().enumerate() {
        let cp = format!("{p}.cargoItems[{j}]");
        let n = c
            .pointer("/outerPackaging/numberOfPackages")
            .ok_or_else(|| missing(&format!("{cp}.outerPackaging.numberOfPackages")))?
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| {
                invalid(
                    &format!("{cp}.outerPackaging.numberOfPackages"),
                    "must be a whole number",
                )
            })?;
        packages = packages.saturating_add(n);
        let w = c
            .get("cargoGrossWeight")
            .ok_or_else(|| missing(&format!("{cp}.cargoGrossWeight")))?;
        weight = weight.saturating_add(kilograms(&format!("{cp}.cargoGrossWeight"), w)?);
    }
    Ok(GoodsLine {
        description: descriptions.join("; "),
        hs_code,
        packages,
        gross_weight_kg: weight,
    })
}

fn equipment(i: usize, e: &Value) -> Result<Equipment> {
    let p = format!("utilizedTransportEquipments[{i}]");
    let container = e
        .pointer("/equipment/equipmentReference")
        .or_else(|| e.get("equipmentReference"))
        .and_then(Value::as_str)
        .ok_or_else(|| missing(&format!("{p}.equipment.equipmentReference")))?
        .to_string();
    let seals = e
        .get("seals")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.get("number").and_then(Value::as_str).map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    Ok(Equipment {
        container,
        seals,
        shared: false,
    })
}

/// Maps a DCSA `TransportDocument` to the ledger's fields, with the given document hash.
pub fn map_transport_document(
    doc: &Value,
    dir: &Directory,
    document_hash: Hash,
) -> Result<TransportDocumentData> {
    if !doc.is_object() {
        return Err(ClientError::Input(format!("{WHAT}: must be a JSON object")));
    }
    let reference = string(doc, "transportDocumentReference")?;
    let kind = match string(doc, "transportDocumentTypeCode")?.as_str() {
        "BOL" => TransportDocumentKind::BillOfLading,
        "SWB" => TransportDocumentKind::SeaWaybill,
        other => {
            return Err(invalid(
                "transportDocumentTypeCode",
                &format!("must be BOL or SWB, got {other:?}"),
            ))
        }
    };
    let to_order = field(doc, "isToOrder")?
        .as_bool()
        .ok_or_else(|| invalid("isToOrder", "must be true or false"))?;
    let freight_term = match string(doc, "freightPaymentTermCode")?.as_str() {
        "PRE" => FreightTerm::Prepaid,
        "COL" => FreightTerm::Collect,
        other => {
            return Err(invalid(
                "freightPaymentTermCode",
                &format!("must be PRE or COL, got {other:?}"),
            ))
        }
    };
    let shipped_on_board_date = match doc.get("shippedOnBoardDate").and_then(Value::as_str) {
        Some(d) => Some(Date::parse(d).map_err(|e| invalid("shippedOnBoardDate", &e.to_string()))?),
        None => None,
    };
    let parties = field(doc, "documentParties")?;
    if !parties.is_object() {
        return Err(invalid(
            "documentParties",
            "must be an object with shipper, consignee, endorsee, ... (eBL 3.0)",
        ));
    }
    field(doc, "documentParties.shipper")?;
    let shipper = required_party(doc, "documentParties.shipper", dir)?
        .ok_or_else(|| missing("documentParties.shipper"))?;
    let consignee = required_party(doc, "documentParties.consignee", dir)?;
    let endorsee = required_party(doc, "documentParties.endorsee", dir)?;
    let notify_parties = parties
        .get("notifyParties")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|p| {
                    p.get("partyName")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
                .collect()
        })
        .unwrap_or_default();
    let port_of_loading = string(doc, "transports.portOfLoading.UNLocationCode")?;
    let port_of_discharge = string(doc, "transports.portOfDischarge.UNLocationCode")?;
    let transports = field(doc, "transports")?;
    let (vessel_name, voyage) = match transports.get("vesselVoyages").and_then(Value::as_array) {
        Some(vv) => {
            let first = vv
                .first()
                .ok_or_else(|| invalid("transports.vesselVoyages", "must list a vessel"))?;
            (
                string(first, "vesselName")
                    .map_err(|_| missing("transports.vesselVoyages[0].vesselName"))?,
                string(first, "carrierExportVoyageNumber").map_err(|_| {
                    missing("transports.vesselVoyages[0].carrierExportVoyageNumber")
                })?,
            )
        }
        None if transports.get("vesselName").is_some() => (
            string(doc, "transports.vesselName")?,
            string(doc, "transports.carrierExportVoyageNumber")?,
        ),
        None => return Err(missing("transports.vesselVoyages")),
    };
    let goods = array(doc, "consignmentItems")?
        .iter()
        .enumerate()
        .map(|(i, item)| goods_line(i, item))
        .collect::<Result<Vec<_>>>()?;
    let equipment = array(doc, "utilizedTransportEquipments")?
        .iter()
        .enumerate()
        .map(|(i, e)| equipment(i, e))
        .collect::<Result<Vec<_>>>()?;
    Ok(TransportDocumentData {
        reference,
        kind,
        to_order,
        shipper,
        consignee,
        endorsee,
        notify_parties,
        vessel_name,
        voyage,
        port_of_loading,
        port_of_discharge,
        shipped_on_board_date,
        goods,
        equipment,
        freight_term,
        document_hash,
        replaces: None,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::parties::Participant;
    use portledger_ledger::Keypair;
    use serde_json::json;

    fn dir() -> Directory {
        let p = |a: &str| Participant {
            alias: a.into(),
            public_key: Keypair::for_testing(a).public(),
            organisation: format!("{a}-org"),
            role: "trader".into(),
        };
        Directory {
            participants: vec![p("seller"), p("buyer"), p("carrier")],
        }
    }

    /// A DCSA eBL 3.0 TransportDocument of the shape the spec's examples use.
    pub(crate) fn sample() -> Value {
        json!({
            "transportDocumentReference": "DCSA-BL-1",
            "transportDocumentStatus": "ISSUED",
            "transportDocumentTypeCode": "BOL",
            "isShippedOnBoardType": true,
            "freightPaymentTermCode": "PRE",
            "isElectronic": true,
            "isToOrder": true,
            "shippedOnBoardDate": "2026-11-01",
            "carrierCode": "MMCU",
            "carrierCodeListProvider": "NMFTA",
            "documentParties": {
                "shipper": {"partyName": "Seller Co", "identifyingCodes": [
                    {"codeListProvider": "ZZZ", "partyCode": "seller"}]},
                "notifyParties": [{"partyName": "Buyer Co"}],
                "issuingParty": {"partyName": "Ocean Carrier"}
            },
            "transports": {
                "portOfLoading": {"UNLocationCode": "CNSHA"},
                "portOfDischarge": {"UNLocationCode": "NLRTM"},
                "vesselVoyages": [{"vesselName": "King of the Seas", "carrierExportVoyageNumber": "2103S"}]
            },
            "consignmentItems": [{
                "descriptionOfGoods": ["Shoes - black"],
                "HSCodes": ["640510"],
                "cargoItems": [{
                    "equipmentReference": "MSCU1234566",
                    "cargoGrossWeight": {"value": 12000, "unit": "KGM"},
                    "outerPackaging": {"numberOfPackages": 400, "packageCode": "4G"}
                }]
            }],
            "utilizedTransportEquipments": [{
                "equipment": {"equipmentReference": "MSCU1234566", "ISOEquipmentCode": "22GP"},
                "isShipperOwned": false,
                "seals": [{"number": "SEAL-1"}]
            }]
        })
    }

    #[test]
    fn maps_the_fields_the_rules_need() {
        let d = dir();
        let t = map_transport_document(&sample(), &d, Hash::of(b"x")).expect("maps");
        assert_eq!(t.reference, "DCSA-BL-1");
        assert_eq!(t.kind, TransportDocumentKind::BillOfLading);
        assert!(t.to_order);
        assert_eq!(t.shipper, Keypair::for_testing("seller").public());
        assert_eq!(t.port_of_loading, "CNSHA");
        assert_eq!(t.vessel_name, "King of the Seas");
        assert_eq!(t.goods[0].packages, 400);
        assert_eq!(t.goods[0].gross_weight_kg, 12000);
        assert_eq!(t.equipment[0].seals, vec!["SEAL-1".to_string()]);
        assert_eq!(t.notify_parties, vec!["Buyer Co".to_string()]);
        t.validate().expect("valid for the ledger");
    }

    #[test]
    fn a_missing_required_field_is_named() {
        let d = dir();
        for (ptr, name) in [
            ("transportDocumentReference", "transportDocumentReference"),
            ("transports", "transports.portOfLoading.UNLocationCode"),
            ("documentParties", "documentParties"),
            ("consignmentItems", "consignmentItems"),
        ] {
            let mut v = sample();
            if let Some(m) = v.as_object_mut() {
                m.remove(ptr);
            }
            let e = map_transport_document(&v, &d, Hash::of(b"x"))
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(e.contains(name), "{ptr}: {e}");
        }
    }

    #[test]
    fn party_by_name_and_unregistered_shipper() {
        let d = dir();
        let mut v = sample();
        v["documentParties"]["shipper"] = json!({"partyName": "  SELLER "});
        assert!(map_transport_document(&v, &d, Hash::of(b"x")).is_ok());
        v["documentParties"]["shipper"] = json!({"partyName": "Someone Else"});
        let e = map_transport_document(&v, &d, Hash::of(b"x"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("documentParties.shipper"), "{e}");
    }

    #[test]
    fn pounds_are_converted() {
        assert_eq!(
            kilograms("w", &json!({"value": 1000, "unit": "LBR"})).ok(),
            Some(454)
        );
        assert!(kilograms("w", &json!({"value": 1, "unit": "TON"})).is_err());
    }
}
