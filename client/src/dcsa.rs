//! DCSA eBL 3.0 `TransportDocument` (bare, or as the `document` of an issuance request) mapped
//! to the ledger's transport document, which keeps the whole document (its RFC 8785 canonical
//! JSON, whose SHA-256 is the document hash) beside the fields derived from it.
//!
//! Derived (DCSA name -> ledger field):
//! - `transportDocumentReference` -> `reference`; `transportDocumentTypeCode` (`BOL`/`SWB`) ->
//!   `kind`; `isToOrder` -> `to_order`; `shippedOnBoardDate` -> `shipped_on_board_date`;
//!   `freightPaymentTermCode` (`PRE`/`COL`, optional) -> `freight_term` (absent: collect, so
//!   the carrier confirms payment before release); `carrierCodeListProvider` + `carrierCode` ->
//!   `dcsa.carrier_code` (the ledger checks it is the signing carrier's claimed code).
//! - `documentParties.shipper` / `.consignee` / `.endorsee` -> shipper / consignee / endorsee and
//!   an issuance request's `issueTo` -> the first possessor, each a registered participant by
//!   the party rule below; `documentParties.notifyParties[].partyName` -> `notify_parties`.
//! - `transports.portOfLoading.UNLocationCode`, `transports.portOfDischarge.UNLocationCode` ->
//!   ports; every `transports.vesselVoyages[]` -> `dcsa.vessel_voyages` (the first also
//!   `vessel_name` / `voyage`).
//! - each `consignmentItems[]` -> one goods line (`descriptionOfGoods` joined by "; ",
//!   `HSCodes[0]`, packages and gross weight summed over its cargo items; `LBR` converted to kg)
//!   and one `dcsa.consignment_items[]` entry: every HS code, and each cargo item with its
//!   container (`equipmentReference`, which must be a listed container), packages, weight and
//!   `outerPackaging.dangerousGoods[]` (UN/NA number, IMO class, packing group, proper name).
//! - each `utilizedTransportEquipments[]` -> one container (`equipment.equipmentReference`,
//!   `seals[].number`) and one `dcsa.equipment[]` entry (`ISOEquipmentCode`, `isShipperOwned`,
//!   `isNonOperatingReefer`, `activeReeferSettings` temperature, humidity, air exchange).
//!
//! Party rule: a DCSA party is the participant the ledger's party directory gives for one of its
//! `identifyingCodes` (`codeListProvider` + `partyCode`, first match), else for its `partyName`;
//! failing both, the participant whose alias or key equals a `partyCode`, or whose alias equals
//! the `partyName` (case-insensitive). A party that is present and maps to nobody is refused with
//! its JSON path; `issueTo` is never dropped.
//!
//! "Should" is not "must": an equipment reference that fails the ISO 6346 check digit and a
//! missing field the spec requires but the ledger does not need are warnings, not refusals.

use portledger_ledger::date::Date;
use portledger_ledger::documents::iso6346_check_digit_ok;
use portledger_ledger::documents::party::{PartyCode, PartyId};
use portledger_ledger::documents::transport::{
    CargoItem, ConsignmentItem, DangerousGoods, DcsaDocument, Equipment, EquipmentDetails,
    FreightTerm, GoodsLine, PlainTransportDocument, ReeferSettings, TransportDocumentKind,
    VesselVoyage, MAX_DCSA_BYTES,
};
use portledger_ledger::{Hash, PublicKey};
use serde_json::Value;

use crate::error::{ClientError, Result};
use crate::parties::Directory;

const WHAT: &str = "DCSA TransportDocument";

/// Top-level fields DCSA eBL 3.0.4 requires of a `TransportDocument`.
const SPEC_REQUIRED: &[&str] = &[
    "transportDocumentReference",
    "transportDocumentStatus",
    "transportDocumentTypeCode",
    "isShippedOnBoardType",
    "isElectronic",
    "isToOrder",
    "invoicePayableAt",
    "partyContactDetails",
    "documentParties",
    "consignmentItems",
    "utilizedTransportEquipments",
    "termsAndConditions",
    "receiptTypeAtOrigin",
    "deliveryTypeAtDestination",
    "cargoMovementTypeAtOrigin",
    "cargoMovementTypeAtDestination",
    "carrierCode",
    "carrierCodeListProvider",
    "transports",
];

/// A DCSA document mapped to the ledger.
#[derive(Debug, Clone)]
pub struct Mapped {
    /// The ledger's fields, with the whole document kept in `dcsa`.
    pub data: PlainTransportDocument,
    /// What the spec says "should" be and is not; accepted.
    pub warnings: Vec<String>,
}

/// JSON paths under a prefix (`document.` inside an issuance request).
struct Paths<'a> {
    base: &'a str,
}

impl Paths<'_> {
    fn of(&self, p: &str) -> String {
        format!("{}{p}", self.base)
    }
    fn missing(&self, p: &str) -> ClientError {
        ClientError::Input(format!("{WHAT}: {}: missing required field", self.of(p)))
    }
    fn invalid(&self, p: &str, why: &str) -> ClientError {
        ClientError::Input(format!("{WHAT}: {}: {why}", self.of(p)))
    }
}

fn get<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.get(key).filter(|x| !x.is_null())
}

fn string(ps: &Paths, v: &Value, key: &str, path: &str) -> Result<String> {
    get(v, key)
        .ok_or_else(|| ps.missing(path))?
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| ps.invalid(path, "must be a string"))
}

fn opt_string(ps: &Paths, v: &Value, key: &str, path: &str) -> Result<Option<String>> {
    match get(v, key) {
        None => Ok(None),
        Some(x) => x
            .as_str()
            .map(|s| Some(s.to_string()))
            .ok_or_else(|| ps.invalid(path, "must be a string")),
    }
}

fn opt_bool(ps: &Paths, v: &Value, key: &str, path: &str) -> Result<bool> {
    match get(v, key) {
        None => Ok(false),
        Some(x) => x
            .as_bool()
            .ok_or_else(|| ps.invalid(path, "must be true or false")),
    }
}

fn array<'a>(ps: &Paths, v: &'a Value, key: &str, path: &str) -> Result<&'a Vec<Value>> {
    let a = get(v, key)
        .ok_or_else(|| ps.missing(path))?
        .as_array()
        .ok_or_else(|| ps.invalid(path, "must be an array"))?;
    if a.is_empty() {
        return Err(ps.invalid(path, "must list at least one item"));
    }
    Ok(a)
}

fn opt_number(ps: &Paths, v: &Value, key: &str, path: &str) -> Result<Option<String>> {
    match get(v, key) {
        None => Ok(None),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(ps.invalid(path, "must be a number")),
    }
}

/// The participant a DCSA party object names, by the party rule of this module; `path` is the
/// object's JSON path, named in the refusal when it maps to nobody.
pub fn map_party(path: &str, party: &Value, dir: &Directory) -> Result<PublicKey> {
    let ps = Paths { base: "" };
    if !party.is_object() {
        return Err(ps.invalid(path, "must be an object"));
    }
    let codes: Vec<(String, String)> = match get(party, "identifyingCodes") {
        None => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let cp = format!("{path}.identifyingCodes[{i}]");
                Ok((
                    string(
                        &ps,
                        c,
                        "codeListProvider",
                        &format!("{cp}.codeListProvider"),
                    )?,
                    string(&ps, c, "partyCode", &format!("{cp}.partyCode"))?,
                ))
            })
            .collect::<Result<_>>()?,
        Some(_) => return Err(ps.invalid(&format!("{path}.identifyingCodes"), "must be an array")),
    };
    let name = opt_string(&ps, party, "partyName", &format!("{path}.partyName"))?;
    for (provider, code) in &codes {
        if let Some(k) = dir.by_party_id(&PartyId::Code(PartyCode::new(provider, code))) {
            return Ok(k);
        }
    }
    if let Some(k) = name
        .as_deref()
        .and_then(|n| dir.by_party_id(&PartyId::Name(n.to_string())))
    {
        return Ok(k);
    }
    // The alias rule: a party code that is an alias or a registered key, or a name that is an alias.
    for (_, code) in &codes {
        if let Some(p) = dir.by_alias(code.trim()) {
            return Ok(p.public_key);
        }
        if let Ok(k) = PublicKey::from_hex(code.trim()) {
            if dir.alias_of(&k).is_some() {
                return Ok(k);
            }
        }
    }
    if let Some(n) = &name {
        let n = n.trim().to_lowercase();
        if let Some(p) = dir
            .participants
            .iter()
            .find(|p| p.alias.to_lowercase() == n)
        {
            return Ok(p.public_key);
        }
    }
    Err(match (codes.first(), &name) {
        (Some((provider, code)), name) => ps.invalid(
            &format!("{path}.identifyingCodes[0].partyCode"),
            &format!(
                "no participant registered for code {code} (provider {provider}){}: claim it with `portledger party claim-code`",
                name.as_deref()
                    .map(|n| format!(" nor for party name {n:?}"))
                    .unwrap_or_default()
            ),
        ),
        (None, Some(n)) => ps.invalid(
            &format!("{path}.partyName"),
            &format!(
                "no participant registered for party name {n:?} (and no identifyingCodes): claim it with `portledger party claim-name`"
            ),
        ),
        (None, None) => ps.invalid(path, "names no party: give identifyingCodes or a partyName"),
    })
}

fn party_at(ps: &Paths, parties: &Value, key: &str, dir: &Directory) -> Result<Option<PublicKey>> {
    match get(parties, key) {
        None => Ok(None),
        Some(p) => map_party(&ps.of(&format!("documentParties.{key}")), p, dir).map(Some),
    }
}

fn kilograms(ps: &Paths, path: &str, w: &Value) -> Result<u64> {
    let vp = format!("{path}.value");
    let value = get(w, "value")
        .ok_or_else(|| ps.missing(&vp))?
        .as_f64()
        .ok_or_else(|| ps.invalid(&vp, "must be a number"))?;
    if !value.is_finite() || !(0.0..=1e12).contains(&value) {
        return Err(ps.invalid(&vp, "must be a non-negative weight"));
    }
    let unit = string(ps, w, "unit", &format!("{path}.unit"))?;
    let kg = match unit.as_str() {
        "KGM" => value,
        "LBR" => value * 0.453_592_37,
        other => {
            return Err(ps.invalid(
                &format!("{path}.unit"),
                &format!("must be KGM or LBR, got {other:?}"),
            ))
        }
    };
    // Bounded above, non-negative and finite: the conversion cannot wrap.
    Ok(kg.round() as u64)
}

fn dangerous_goods(ps: &Paths, path: &str, d: &Value) -> Result<DangerousGoods> {
    Ok(DangerousGoods {
        un_number: opt_string(ps, d, "UNNumber", &format!("{path}.UNNumber"))?,
        na_number: opt_string(ps, d, "NANumber", &format!("{path}.NANumber"))?,
        imo_class: string(ps, d, "imoClass", &format!("{path}.imoClass"))?,
        packing_group: match get(d, "packingGroup") {
            None => None,
            Some(x) => Some(
                x.as_u64()
                    .and_then(|n| u8::try_from(n).ok())
                    .ok_or_else(|| {
                        ps.invalid(&format!("{path}.packingGroup"), "must be 1, 2 or 3")
                    })?,
            ),
        },
        proper_shipping_name: string(
            ps,
            d,
            "properShippingName",
            &format!("{path}.properShippingName"),
        )?,
    })
}

fn cargo_item(ps: &Paths, path: &str, c: &Value) -> Result<CargoItem> {
    let container = string(
        ps,
        c,
        "equipmentReference",
        &format!("{path}.equipmentReference"),
    )?;
    let w = get(c, "cargoGrossWeight")
        .ok_or_else(|| ps.missing(&format!("{path}.cargoGrossWeight")))?;
    let gross_weight_kg = kilograms(ps, &format!("{path}.cargoGrossWeight"), w)?;
    let op = format!("{path}.outerPackaging");
    let outer = get(c, "outerPackaging").ok_or_else(|| ps.missing(&op))?;
    let packages = match get(outer, "numberOfPackages") {
        None => 0,
        Some(n) => n
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| {
                ps.invalid(&format!("{op}.numberOfPackages"), "must be a whole number")
            })?,
    };
    let dangerous_goods = match get(outer, "dangerousGoods") {
        None => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .enumerate()
            .map(|(k, d)| dangerous_goods(ps, &format!("{op}.dangerousGoods[{k}]"), d))
            .collect::<Result<_>>()?,
        Some(_) => return Err(ps.invalid(&format!("{op}.dangerousGoods"), "must be an array")),
    };
    Ok(CargoItem {
        container,
        packages,
        gross_weight_kg,
        dangerous_goods,
    })
}

fn consignment_item(ps: &Paths, i: usize, item: &Value) -> Result<(GoodsLine, ConsignmentItem)> {
    let p = format!("consignmentItems[{i}]");
    let descriptions: Vec<String> = array(
        ps,
        item,
        "descriptionOfGoods",
        &format!("{p}.descriptionOfGoods"),
    )?
    .iter()
    .enumerate()
    .map(|(j, x)| {
        x.as_str()
            .map(str::to_string)
            .ok_or_else(|| ps.invalid(&format!("{p}.descriptionOfGoods[{j}]"), "must be a string"))
    })
    .collect::<Result<_>>()?;
    let hs_codes: Vec<String> = array(ps, item, "HSCodes", &format!("{p}.HSCodes"))?
        .iter()
        .enumerate()
        .map(|(j, x)| {
            x.as_str()
                .map(str::to_string)
                .ok_or_else(|| ps.invalid(&format!("{p}.HSCodes[{j}]"), "must be a string"))
        })
        .collect::<Result<_>>()?;
    let cargo_items = array(ps, item, "cargoItems", &format!("{p}.cargoItems"))?
        .iter()
        .enumerate()
        .map(|(j, c)| cargo_item(ps, &format!("{p}.cargoItems[{j}]"), c))
        .collect::<Result<Vec<_>>>()?;
    let line = GoodsLine {
        description: descriptions.join("; "),
        hs_code: hs_codes.first().cloned().unwrap_or_default(),
        packages: cargo_items
            .iter()
            .fold(0u32, |n, c| n.saturating_add(c.packages)),
        gross_weight_kg: cargo_items
            .iter()
            .fold(0u64, |n, c| n.saturating_add(c.gross_weight_kg)),
    };
    Ok((
        line,
        ConsignmentItem {
            hs_codes,
            cargo_items,
        },
    ))
}

fn reefer(ps: &Paths, path: &str, r: &Value) -> Result<ReeferSettings> {
    Ok(ReeferSettings {
        temperature_setpoint: opt_number(
            ps,
            r,
            "temperatureSetpoint",
            &format!("{path}.temperatureSetpoint"),
        )?,
        temperature_unit: opt_string(ps, r, "temperatureUnit", &format!("{path}.temperatureUnit"))?,
        humidity_setpoint: opt_number(
            ps,
            r,
            "humiditySetpoint",
            &format!("{path}.humiditySetpoint"),
        )?,
        air_exchange_setpoint: opt_number(
            ps,
            r,
            "airExchangeSetpoint",
            &format!("{path}.airExchangeSetpoint"),
        )?,
        air_exchange_unit: opt_string(
            ps,
            r,
            "airExchangeUnit",
            &format!("{path}.airExchangeUnit"),
        )?,
    })
}

fn equipment(
    ps: &Paths,
    i: usize,
    e: &Value,
    warnings: &mut Vec<String>,
) -> Result<(Equipment, EquipmentDetails)> {
    let p = format!("utilizedTransportEquipments[{i}]");
    let eq = get(e, "equipment").ok_or_else(|| ps.missing(&format!("{p}.equipment")))?;
    let rp = format!("{p}.equipment.equipmentReference");
    let container = string(ps, eq, "equipmentReference", &rp)?;
    if !iso6346_check_digit_ok(&container) {
        warnings.push(format!(
            "{}: {container} does not pass the ISO 6346 check digit (DCSA: should, where possible); accepted",
            ps.of(&rp)
        ));
    }
    let seals = match get(e, "seals") {
        None => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .enumerate()
            .map(|(j, s)| string(ps, s, "number", &format!("{p}.seals[{j}].number")))
            .collect::<Result<_>>()?,
        Some(_) => return Err(ps.invalid(&format!("{p}.seals"), "must be an array")),
    };
    let details = EquipmentDetails {
        container: container.clone(),
        iso_equipment_code: opt_string(
            ps,
            eq,
            "ISOEquipmentCode",
            &format!("{p}.equipment.ISOEquipmentCode"),
        )?,
        shipper_owned: opt_bool(ps, e, "isShipperOwned", &format!("{p}.isShipperOwned"))?,
        non_operating_reefer: opt_bool(
            ps,
            e,
            "isNonOperatingReefer",
            &format!("{p}.isNonOperatingReefer"),
        )?,
        reefer: get(e, "activeReeferSettings")
            .map(|r| reefer(ps, &format!("{p}.activeReeferSettings"), r))
            .transpose()?,
    };
    Ok((
        Equipment {
            container,
            seals,
            shared: false,
        },
        details,
    ))
}

/// The canonical JSON (RFC 8785) of a DCSA document: the bytes the ledger keeps and hashes.
pub fn canonical(doc: &Value) -> Result<String> {
    serde_jcs::to_string(doc)
        .map_err(|e| ClientError::Input(format!("{WHAT}: no canonical JSON form: {e}")))
}

/// Maps a DCSA `TransportDocument` found at JSON path prefix `base` (`""`, or `"document."` in
/// an issuance request) to the ledger's fields, keeping the whole document.
pub fn map_transport_document(doc: &Value, dir: &Directory, base: &str) -> Result<Mapped> {
    let ps = Paths { base };
    if !doc.is_object() {
        return Err(ClientError::Input(format!("{WHAT}: must be a JSON object")));
    }
    let mut warnings = Vec::new();
    for f in SPEC_REQUIRED {
        if get(doc, f).is_none() {
            warnings.push(format!(
                "{}: required by DCSA eBL 3.0 but not needed by the ledger; missing",
                ps.of(f)
            ));
        }
    }
    let reference = string(
        &ps,
        doc,
        "transportDocumentReference",
        "transportDocumentReference",
    )?;
    let kind = match string(
        &ps,
        doc,
        "transportDocumentTypeCode",
        "transportDocumentTypeCode",
    )?
    .as_str()
    {
        "BOL" => TransportDocumentKind::BillOfLading,
        "SWB" => TransportDocumentKind::SeaWaybill,
        other => {
            return Err(ps.invalid(
                "transportDocumentTypeCode",
                &format!("must be BOL or SWB, got {other:?}"),
            ))
        }
    };
    let to_order = get(doc, "isToOrder")
        .ok_or_else(|| ps.missing("isToOrder"))?
        .as_bool()
        .ok_or_else(|| ps.invalid("isToOrder", "must be true or false"))?;
    let freight_term = match opt_string(
        &ps,
        doc,
        "freightPaymentTermCode",
        "freightPaymentTermCode",
    )?
    .as_deref()
    {
        Some("PRE") => FreightTerm::Prepaid,
        Some("COL") => FreightTerm::Collect,
        Some(other) => {
            return Err(ps.invalid(
                "freightPaymentTermCode",
                &format!("must be PRE or COL, got {other:?}"),
            ))
        }
        None => {
            warnings.push(format!(
                "{}: absent; freight is treated as collect (the carrier confirms payment)",
                ps.of("freightPaymentTermCode")
            ));
            FreightTerm::Collect
        }
    };
    let shipped_on_board_date = opt_string(&ps, doc, "shippedOnBoardDate", "shippedOnBoardDate")?
        .map(|d| Date::parse(&d).map_err(|e| ps.invalid("shippedOnBoardDate", &e.to_string())))
        .transpose()?;
    let carrier_code = PartyCode::new(
        &string(
            &ps,
            doc,
            "carrierCodeListProvider",
            "carrierCodeListProvider",
        )?,
        &string(&ps, doc, "carrierCode", "carrierCode")?,
    );
    let parties = get(doc, "documentParties").ok_or_else(|| ps.missing("documentParties"))?;
    if !parties.is_object() {
        return Err(ps.invalid("documentParties", "must be an object"));
    }
    let shipper = party_at(&ps, parties, "shipper", dir)?
        .ok_or_else(|| ps.missing("documentParties.shipper"))?;
    let consignee = party_at(&ps, parties, "consignee", dir)?;
    let endorsee = party_at(&ps, parties, "endorsee", dir)?;
    let notify_parties = match get(parties, "notifyParties") {
        None => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .enumerate()
            .map(|(i, p)| {
                string(
                    &ps,
                    p,
                    "partyName",
                    &format!("documentParties.notifyParties[{i}].partyName"),
                )
            })
            .collect::<Result<_>>()?,
        Some(_) => return Err(ps.invalid("documentParties.notifyParties", "must be an array")),
    };
    let transports = get(doc, "transports").ok_or_else(|| ps.missing("transports"))?;
    let locode = |key: &str| -> Result<String> {
        let place = get(transports, key)
            .ok_or_else(|| ps.missing(&format!("transports.{key}.UNLocationCode")))?;
        string(
            &ps,
            place,
            "UNLocationCode",
            &format!("transports.{key}.UNLocationCode"),
        )
    };
    let port_of_loading = locode("portOfLoading")?;
    let port_of_discharge = locode("portOfDischarge")?;
    let vessel_voyages = array(&ps, transports, "vesselVoyages", "transports.vesselVoyages")?
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let p = format!("transports.vesselVoyages[{i}]");
            Ok(VesselVoyage {
                vessel_name: string(&ps, v, "vesselName", &format!("{p}.vesselName"))?,
                voyage: string(
                    &ps,
                    v,
                    "carrierExportVoyageNumber",
                    &format!("{p}.carrierExportVoyageNumber"),
                )?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let (goods, consignment_items): (Vec<_>, Vec<_>) =
        array(&ps, doc, "consignmentItems", "consignmentItems")?
            .iter()
            .enumerate()
            .map(|(i, item)| consignment_item(&ps, i, item))
            .collect::<Result<Vec<_>>>()?
            .into_iter()
            .unzip();
    let (equipment, equipment_details): (Vec<_>, Vec<_>) = array(
        &ps,
        doc,
        "utilizedTransportEquipments",
        "utilizedTransportEquipments",
    )?
    .iter()
    .enumerate()
    .map(|(i, e)| equipment(&ps, i, e, &mut warnings))
    .collect::<Result<Vec<_>>>()?
    .into_iter()
    .unzip();
    for (i, item) in consignment_items.iter().enumerate() {
        for (j, c) in item.cargo_items.iter().enumerate() {
            if !equipment.iter().any(|e| e.container == c.container) {
                return Err(ps.invalid(
                    &format!("consignmentItems[{i}].cargoItems[{j}].equipmentReference"),
                    &format!("{} is not among utilizedTransportEquipments", c.container),
                ));
            }
        }
    }
    let canonical_json = canonical(doc)?;
    if canonical_json.len() > MAX_DCSA_BYTES {
        return Err(ClientError::Input(format!(
            "{WHAT}: {} bytes of canonical JSON; the ledger keeps at most {MAX_DCSA_BYTES}",
            canonical_json.len()
        )));
    }
    let first = &vessel_voyages[0];
    let data = PlainTransportDocument {
        reference,
        kind,
        to_order,
        shipper,
        consignee,
        endorsee,
        notify_parties,
        vessel_name: first.vessel_name.clone(),
        voyage: first.voyage.clone(),
        port_of_loading,
        port_of_discharge,
        shipped_on_board_date,
        goods,
        equipment,
        freight_term,
        document_hash: Hash::of(canonical_json.as_bytes()),
        replaces: None,
        dcsa: Some(Box::new(DcsaDocument {
            canonical_json,
            carrier_code,
            vessel_voyages,
            consignment_items,
            equipment: equipment_details,
        })),
    };
    Ok(Mapped { data, warnings })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::parties::Participant;
    use portledger_ledger::Keypair;
    use serde_json::json;

    pub(crate) fn dir() -> Directory {
        let p = |a: &str, ids: Vec<PartyId>| Participant {
            alias: a.into(),
            public_key: Keypair::for_testing(a).public(),
            encryption_key: Keypair::for_testing(a).encryption_key(),
            organisation: format!("{a}-org"),
            role: "trader".into(),
            party_ids: ids,
        };
        Directory {
            participants: vec![
                p("seller", vec![PartyId::Name("Seller Co".into())]),
                p(
                    "buyer",
                    vec![PartyId::Code(PartyCode::new("GLEIF", "BUYERLEI"))],
                ),
                p(
                    "carrier",
                    vec![PartyId::Code(PartyCode::new("NMFTA", "MMCU"))],
                ),
            ],
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
                "shipper": {"partyName": "Seller Co"},
                "notifyParties": [{"partyName": "Buyer Co"}],
                "issuingParty": {"partyName": "Ocean Carrier"}
            },
            "transports": {
                "portOfLoading": {"UNLocationCode": "CNSHA"},
                "portOfDischarge": {"UNLocationCode": "NLRTM"},
                "vesselVoyages": [
                    {"vesselName": "King of the Seas", "carrierExportVoyageNumber": "2103S"},
                    {"vesselName": "Queen of the Seas", "carrierExportVoyageNumber": "2104N"}
                ]
            },
            "consignmentItems": [{
                "descriptionOfGoods": ["Shoes - black"],
                "HSCodes": ["640510", "640520"],
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

    fn refusal(v: &Value) -> String {
        map_transport_document(v, &dir(), "")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn maps_the_fields_the_rules_need_and_keeps_the_rest() {
        let m = map_transport_document(&sample(), &dir(), "").expect("maps");
        let t = &m.data;
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
        let d = t.dcsa.as_ref().expect("kept");
        assert_eq!(d.vessel_voyages.len(), 2);
        assert_eq!(d.consignment_items[0].hs_codes, vec!["640510", "640520"]);
        assert_eq!(
            d.consignment_items[0].cargo_items[0].container,
            "MSCU1234566"
        );
        assert_eq!(d.carrier_code, PartyCode::new("NMFTA", "MMCU"));
        assert_eq!(t.document_hash, Hash::of(d.canonical_json.as_bytes()));
        t.validate().expect("valid for the ledger");
    }

    #[test]
    fn a_missing_required_field_is_named_by_its_path() {
        for (ptr, name) in [
            ("transportDocumentReference", "transportDocumentReference"),
            ("transports", "transports"),
            ("documentParties", "documentParties"),
            ("consignmentItems", "consignmentItems"),
            ("carrierCode", "carrierCode"),
        ] {
            let mut v = sample();
            if let Some(m) = v.as_object_mut() {
                m.remove(ptr);
            }
            let e = refusal(&v);
            assert!(e.contains(name), "{ptr}: {e}");
        }
    }

    #[test]
    fn optional_and_should_fields_are_not_refusals() {
        let mut v = sample();
        if let Some(m) = v.as_object_mut() {
            m.remove("freightPaymentTermCode");
        }
        v["utilizedTransportEquipments"][0]["equipment"]["equipmentReference"] =
            json!("MSCU1234567");
        v["consignmentItems"][0]["cargoItems"][0]["equipmentReference"] = json!("MSCU1234567");
        let m = map_transport_document(&v, &dir(), "").expect("accepted");
        assert_eq!(m.data.freight_term, FreightTerm::Collect);
        assert!(
            m.warnings.iter().any(|w| w.contains("check digit")),
            "{:?}",
            m.warnings
        );
        assert!(m
            .warnings
            .iter()
            .any(|w| w.contains("freightPaymentTermCode")));
        m.data.validate().expect("the ledger accepts it too");
    }

    #[test]
    fn parties_by_code_name_or_alias_and_refusals_name_the_path() {
        let mut v = sample();
        v["documentParties"]["shipper"] = json!({"partyName": "  SELLER "});
        assert!(map_transport_document(&v, &dir(), "").is_ok());
        v["documentParties"]["shipper"] = json!({"partyName": "Buyer Ltd",
            "identifyingCodes": [{"codeListProvider": "GLEIF", "partyCode": "BUYERLEI"}]});
        let m = map_transport_document(&v, &dir(), "").expect("by code");
        assert_eq!(m.data.shipper, Keypair::for_testing("buyer").public());
        v["documentParties"]["shipper"] = json!({"partyName": "Someone Else",
            "identifyingCodes": [{"codeListProvider": "GLEIF", "partyCode": "NOBODY"}]});
        let e = refusal(&v);
        assert!(e.contains("documentParties.shipper.identifyingCodes[0].partyCode: no participant registered for code NOBODY (provider GLEIF)"), "{e}");
        v["documentParties"]["shipper"] = json!({"partyName": "Someone Else"});
        let e = refusal(&v);
        assert!(e.contains("documentParties.shipper.partyName"), "{e}");
    }

    #[test]
    fn a_cargo_item_outside_the_listed_containers_is_refused() {
        let mut v = sample();
        v["consignmentItems"][0]["cargoItems"][0]["equipmentReference"] = json!("TGHU7654320");
        let e = refusal(&v);
        assert!(
            e.contains("consignmentItems[0].cargoItems[0].equipmentReference"),
            "{e}"
        );
    }

    #[test]
    fn pounds_are_converted() {
        let ps = Paths { base: "" };
        assert_eq!(
            kilograms(&ps, "w", &json!({"value": 1000, "unit": "LBR"})).ok(),
            Some(454)
        );
        assert!(kilograms(&ps, "w", &json!({"value": 1, "unit": "TON"})).is_err());
    }
}
