//! Transport documents: the electronic bill of lading (eBL) and the sea waybill, after DCSA eBL 3.0.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::crypto::{Hash, PublicKey};
use crate::date::Date;
use crate::documents::party::{PartyCode, PartyId};
use crate::documents::{
    check_container, check_hs_code, check_locode, check_reference, check_sealed, check_text,
};
use crate::error::RuleError;
use crate::sealed::{
    DecryptionKey, EncryptionKey, KeyWrap, SealError, Sealed, TermsKey, MAX_WRAPS,
};
use crate::Keypair;

/// Longest transport document reference (DCSA `transportDocumentReference`).
pub const MAX_REFERENCE: usize = 20;

/// `transportDocumentTypeCode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TransportDocumentKind {
    /// Bill of lading: a transferable record.
    #[serde(rename = "BOL")]
    BillOfLading,
    /// Sea waybill: straight to a consignee, never transferred.
    #[serde(rename = "SWB")]
    SeaWaybill,
}

/// Freight payment term.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FreightTerm {
    /// Prepaid by the shipper.
    #[serde(rename = "PRE")]
    Prepaid,
    /// Collect: paid at destination; the carrier confirms payment.
    #[serde(rename = "COL")]
    Collect,
}

/// One line of goods.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoodsLine {
    /// Description of the goods.
    pub description: String,
    /// Harmonized System code.
    pub hs_code: String,
    /// Number of packages.
    pub packages: u32,
    /// Gross weight in kilograms.
    pub gross_weight_kg: u64,
}

/// One container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Equipment {
    /// Container number, ISO 6346.
    pub container: String,
    /// Seal numbers.
    #[serde(default)]
    pub seals: Vec<String>,
    /// Shared (LCL): the container may stand on several live documents, each of which must
    /// declare it shared; it is released only when every one of them meets the release rule.
    #[serde(default)]
    pub shared: bool,
}

/// A transport document as it travels and is stored on the ledger: the public header (every
/// field a rule reads: parties, kind, ports, dates, containers, freight term, references) and
/// the confidential rest ([`TransportBody`]: notify parties, vessel and voyage, goods, the whole
/// DCSA document) sealed under the document's own key, wrapped for its readers
/// ([`crate::sealed`]). Validators check the header; a reader's client opens the body and checks
/// it against the header ([`TransportDocumentData::open`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransportDocumentData {
    /// `transportDocumentReference`, unique on the ledger.
    pub reference: String,
    /// BOL or SWB.
    pub kind: TransportDocumentKind,
    /// `isToOrder`.
    pub to_order: bool,
    /// Shipper (exporter).
    pub shipper: PublicKey,
    /// Consignee of a straight document; never set together with an endorsee.
    pub consignee: Option<PublicKey>,
    /// Endorsee of a to-order document, if named at issue.
    pub endorsee: Option<PublicKey>,
    /// UN/LOCODE of the port of loading.
    pub port_of_loading: String,
    /// UN/LOCODE of the port of discharge.
    pub port_of_discharge: String,
    /// Shipped-on-board date, when shipped.
    pub shipped_on_board_date: Option<Date>,
    /// Containers.
    pub equipment: Vec<Equipment>,
    /// Freight payment term.
    pub freight_term: FreightTerm,
    /// SHA-256 of the rendered document file (or of the canonical JSON it was issued from).
    pub document_hash: Hash,
    /// The voided document this one replaces, if any.
    pub replaces: Option<String>,
    /// When issued from a DCSA document: its `carrierCode` (with `carrierCodeListProvider`),
    /// which the rules check against the signing carrier's claimed codes.
    pub carrier_code: Option<PartyCode>,
    /// The confidential rest ([`TransportBody`]), sealed under the document's key.
    pub body: Sealed,
    /// The document's key, wrapped for its readers when drafted or issued (later readers get
    /// theirs from the transaction that makes them readers: see [`KeyShare`]).
    pub keys: Vec<KeyWrap>,
}

/// The confidential part of a transport document: every field no rule reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransportBody {
    /// Notify parties, as free text.
    pub notify_parties: Vec<String>,
    /// Vessel name.
    pub vessel_name: String,
    /// Carrier's voyage number.
    pub voyage: String,
    /// Goods lines.
    pub goods: Vec<GoodsLine>,
    /// The whole DCSA document, when issued from one.
    pub dcsa: Option<Box<DcsaDocument>>,
}

/// A document key wrapped for a party who becomes one of the document's readers by the
/// transaction that carries it (a new possessor, endorsee, presenting bank): the transferor
/// wraps the key it holds, so that no holder ends in control of a document it cannot read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyShare {
    /// The transport document.
    pub reference: String,
    /// Its key, wrapped for the new reader.
    pub wrap: KeyWrap,
}

/// A transport document in the clear, as the carrier drafts or issues it and as its readers open
/// it. On the ledger it travels as a [`TransportDocumentData`]: the fields the rules read in a
/// public header, the rest ([`TransportBody`]) sealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlainTransportDocument {
    /// `transportDocumentReference`, unique on the ledger.
    pub reference: String,
    /// BOL or SWB.
    pub kind: TransportDocumentKind,
    /// `isToOrder`.
    pub to_order: bool,
    /// Shipper (exporter).
    pub shipper: PublicKey,
    /// Consignee of a straight document; never set together with an endorsee.
    pub consignee: Option<PublicKey>,
    /// Endorsee of a to-order document, if named at issue.
    pub endorsee: Option<PublicKey>,
    /// Notify parties, as free text.
    pub notify_parties: Vec<String>,
    /// Vessel name.
    pub vessel_name: String,
    /// Carrier's voyage number.
    pub voyage: String,
    /// UN/LOCODE of the port of loading.
    pub port_of_loading: String,
    /// UN/LOCODE of the port of discharge.
    pub port_of_discharge: String,
    /// Shipped-on-board date, when shipped.
    pub shipped_on_board_date: Option<Date>,
    /// Goods lines.
    pub goods: Vec<GoodsLine>,
    /// Containers.
    pub equipment: Vec<Equipment>,
    /// Freight payment term.
    pub freight_term: FreightTerm,
    /// SHA-256 of the rendered document file (or of the canonical JSON it was issued from).
    pub document_hash: Hash,
    /// The voided document this one replaces, if any.
    pub replaces: Option<String>,
    /// When issued from a DCSA eBL 3.0 `TransportDocument`: the whole document and what the
    /// ledger derived from it beyond the fields above.
    #[serde(default)]
    pub dcsa: Option<Box<DcsaDocument>>,
}

/// Longest canonical DCSA document kept on the ledger, so that a transaction carrying it stays
/// well under the genesis `max_tx_bytes` (64 KiB by default).
pub const MAX_DCSA_BYTES: usize = 32 * 1024;

/// A DCSA eBL 3.0 `TransportDocument` as the ledger keeps it: its canonical JSON (RFC 8785),
/// whose SHA-256 is the record's `document_hash`, and the fields derived from it that the
/// ledger's own fields do not hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DcsaDocument {
    /// The document's canonical JSON (RFC 8785), exactly as `bl show --dcsa` prints it.
    pub canonical_json: String,
    /// `carrierCodeListProvider` and `carrierCode`: must be claimed for the issuing carrier's
    /// organisation in the party directory.
    pub carrier_code: PartyCode,
    /// Every `transports.vesselVoyages[]` leg, in order (the first is `vessel_name` / `voyage`).
    pub vessel_voyages: Vec<VesselVoyage>,
    /// Each `consignmentItems[]`, in the order of `goods`.
    pub consignment_items: Vec<ConsignmentItem>,
    /// Each `utilizedTransportEquipments[]`, in the order of `equipment`.
    pub equipment: Vec<EquipmentDetails>,
}

/// One vessel and voyage leg.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VesselVoyage {
    /// `vesselName`.
    pub vessel_name: String,
    /// `carrierExportVoyageNumber`.
    pub voyage: String,
}

/// What a DCSA consignment item adds to its goods line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsignmentItem {
    /// Every `HSCodes[]` entry (the goods line's `hs_code` is the first).
    pub hs_codes: Vec<String>,
    /// Each `cargoItems[]`, with the container it is packed in.
    pub cargo_items: Vec<CargoItem>,
}

/// One cargo item: the part of a consignment item packed in one container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CargoItem {
    /// `equipmentReference`: a container on the document.
    pub container: String,
    /// `outerPackaging.numberOfPackages`.
    pub packages: u32,
    /// `cargoGrossWeight`, in kilograms.
    pub gross_weight_kg: u64,
    /// `outerPackaging.dangerousGoods[]`.
    pub dangerous_goods: Vec<DangerousGoods>,
}

/// One dangerous goods entry (IMDG).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DangerousGoods {
    /// `UNNumber`.
    pub un_number: Option<String>,
    /// `NANumber`.
    pub na_number: Option<String>,
    /// `imoClass`.
    pub imo_class: String,
    /// `packingGroup`.
    pub packing_group: Option<u8>,
    /// `properShippingName`.
    pub proper_shipping_name: String,
}

/// What a DCSA utilized transport equipment adds to its container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EquipmentDetails {
    /// `equipment.equipmentReference`.
    pub container: String,
    /// `equipment.ISOEquipmentCode` (size and type).
    pub iso_equipment_code: Option<String>,
    /// `isShipperOwned`.
    pub shipper_owned: bool,
    /// `isNonOperatingReefer`.
    pub non_operating_reefer: bool,
    /// `activeReeferSettings`, when the container is a running reefer.
    pub reefer: Option<ReeferSettings>,
}

/// A running reefer's settings (numbers as the document writes them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReeferSettings {
    /// `temperatureSetpoint`.
    pub temperature_setpoint: Option<String>,
    /// `temperatureUnit`: `CEL` or `FAH`.
    pub temperature_unit: Option<String>,
    /// `humiditySetpoint`, percent.
    pub humidity_setpoint: Option<String>,
    /// `airExchangeSetpoint`.
    pub air_exchange_setpoint: Option<String>,
    /// `airExchangeUnit`.
    pub air_exchange_unit: Option<String>,
}

fn invalid_dcsa(reason: String) -> RuleError {
    RuleError::InvalidField {
        field: "dcsa",
        reason,
    }
}

impl DcsaDocument {
    /// Checks the kept document against the record it belongs to: size, canonical form (RFC
    /// 8785), the hash, the reference, type, to-order flag and carrier code it states, and that the derived parts
    /// line up with the goods lines and containers (every cargo item in a listed container).
    pub fn validate(&self, data: &PlainTransportDocument) -> Result<(), RuleError> {
        let text = &self.canonical_json;
        if text.len() > MAX_DCSA_BYTES {
            return Err(invalid_dcsa(format!(
                "the DCSA document is {} bytes of canonical JSON; at most {MAX_DCSA_BYTES} are kept",
                text.len()
            )));
        }
        if Hash::of(text.as_bytes()) != data.document_hash {
            return Err(invalid_dcsa(
                "document_hash must be the SHA-256 of the DCSA document's canonical JSON".into(),
            ));
        }
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| invalid_dcsa(format!("the DCSA document is not JSON: {e}")))?;
        let canonical = serde_jcs::to_string(&value)
            .map_err(|e| invalid_dcsa(format!("the DCSA document has no canonical form: {e}")))?;
        if canonical != *text {
            return Err(invalid_dcsa(
                "the DCSA document must be kept in its canonical JSON form (RFC 8785)".into(),
            ));
        }
        let stated = |k: &str| value.get(k).and_then(serde_json::Value::as_str);
        if stated("transportDocumentReference") != Some(data.reference.as_str()) {
            return Err(invalid_dcsa(format!(
                "the DCSA document's transportDocumentReference is not {}",
                data.reference
            )));
        }
        if stated("carrierCodeListProvider") != Some(self.carrier_code.provider.as_str())
            || stated("carrierCode") != Some(self.carrier_code.code.as_str())
        {
            return Err(invalid_dcsa(format!(
                "the DCSA document's carrierCode / carrierCodeListProvider are not {}",
                self.carrier_code
            )));
        }
        let kind = match data.kind {
            TransportDocumentKind::BillOfLading => "BOL",
            TransportDocumentKind::SeaWaybill => "SWB",
        };
        if stated("transportDocumentTypeCode") != Some(kind)
            || value.get("isToOrder").and_then(serde_json::Value::as_bool) != Some(data.to_order)
        {
            return Err(invalid_dcsa(format!(
                "the DCSA document's transportDocumentTypeCode / isToOrder are not {kind} / {}",
                data.to_order
            )));
        }
        PartyId::Code(self.carrier_code.clone()).validate()?;
        if self.vessel_voyages.is_empty() || self.vessel_voyages.len() > 100 {
            return Err(invalid_dcsa("must list 1 to 100 vessel voyages".into()));
        }
        for v in &self.vessel_voyages {
            check_text("dcsa.vessel_voyages.vessel_name", &v.vessel_name, 100)?;
            check_text("dcsa.vessel_voyages.voyage", &v.voyage, 50)?;
        }
        if self.consignment_items.len() != data.goods.len() {
            return Err(invalid_dcsa(
                "one consignment item per goods line is required".into(),
            ));
        }
        for (item, line) in self.consignment_items.iter().zip(&data.goods) {
            if item.hs_codes.first() != Some(&line.hs_code) || item.hs_codes.len() > 100 {
                return Err(invalid_dcsa(
                    "a consignment item's HS codes start with its goods line's hs_code".into(),
                ));
            }
            for h in &item.hs_codes {
                check_hs_code("dcsa.consignment_items.hs_codes", h)?;
            }
            if item.cargo_items.is_empty() || item.cargo_items.len() > 1000 {
                return Err(invalid_dcsa(
                    "a consignment item lists 1 to 1000 cargo items".into(),
                ));
            }
            for c in &item.cargo_items {
                if !data.has_container(&c.container) {
                    return Err(invalid_dcsa(format!(
                        "cargo item in container {:?}, which the document does not list",
                        c.container
                    )));
                }
                if c.dangerous_goods.len() > 100 {
                    return Err(invalid_dcsa(
                        "at most 100 dangerous goods per cargo item".into(),
                    ));
                }
                for d in &c.dangerous_goods {
                    check_text("dcsa.dangerous_goods.imo_class", &d.imo_class, 4)?;
                    check_text(
                        "dcsa.dangerous_goods.proper_shipping_name",
                        &d.proper_shipping_name,
                        250,
                    )?;
                    for n in [&d.un_number, &d.na_number].into_iter().flatten() {
                        check_text("dcsa.dangerous_goods.un_number", n, 4)?;
                    }
                }
            }
        }
        if self.equipment.len() != data.equipment.len()
            || self
                .equipment
                .iter()
                .zip(&data.equipment)
                .any(|(d, e)| d.container != e.container)
        {
            return Err(invalid_dcsa(
                "one equipment entry per container, in the same order".into(),
            ));
        }
        for e in &self.equipment {
            for t in [&e.iso_equipment_code].into_iter().flatten() {
                check_text("dcsa.equipment.iso_equipment_code", t, 4)?;
            }
            if let Some(r) = &e.reefer {
                for t in [
                    &r.temperature_setpoint,
                    &r.temperature_unit,
                    &r.humidity_setpoint,
                    &r.air_exchange_setpoint,
                    &r.air_exchange_unit,
                ]
                .into_iter()
                .flatten()
                {
                    check_text("dcsa.equipment.reefer", t, 32)?;
                }
            }
        }
        Ok(())
    }
}

impl TransportDocumentData {
    /// Checks the header on its own (no state): formats, the straight / to-order rules, and
    /// the sealed body's bounds. The body's own fields are checked by the sender's client
    /// before sealing and by each reader's on opening ([`TransportDocumentData::open`]).
    pub fn validate(&self) -> Result<(), RuleError> {
        check_reference("reference", &self.reference, MAX_REFERENCE)?;
        let invalid = |field, reason: &str| {
            Err(RuleError::InvalidField {
                field,
                reason: reason.to_string(),
            })
        };
        match (self.kind, self.to_order) {
            (TransportDocumentKind::SeaWaybill, true) => {
                return invalid("to_order", "a sea waybill is never to order")
            }
            (_, true) if self.consignee.is_some() => {
                return invalid(
                    "consignee",
                    "a to-order document names an endorsee, never a consignee",
                )
            }
            (_, false) if self.consignee.is_none() => {
                return invalid("consignee", "a straight document must name its consignee")
            }
            (_, false) if self.endorsee.is_some() => {
                return invalid("endorsee", "only a to-order document has an endorsee")
            }
            _ => {}
        }
        check_locode("port_of_loading", &self.port_of_loading)?;
        check_locode("port_of_discharge", &self.port_of_discharge)?;
        if self.equipment.is_empty() || self.equipment.len() > 1000 {
            return invalid("equipment", "must list 1 to 1000 containers");
        }
        let mut seen = BTreeSet::new();
        for e in &self.equipment {
            check_container("equipment.container", &e.container)?;
            if !seen.insert(e.container.as_str()) {
                return invalid("equipment.container", "a container is listed twice");
            }
            if e.seals.len() > 10 {
                return invalid("equipment.seals", "at most 10 seals per container");
            }
            for s in &e.seals {
                check_text("equipment.seals", s, 50)?;
            }
        }
        if let Some(r) = &self.replaces {
            check_reference("replaces", r, MAX_REFERENCE)?;
        }
        if let Some(c) = &self.carrier_code {
            PartyId::Code(c.clone()).validate()?;
        }
        check_sealed("body", &self.body)?;
        if self.keys.len() > MAX_WRAPS {
            return invalid("keys", "at most 32 key wraps");
        }
        Ok(())
    }

    /// Whether a container is on this document.
    pub fn has_container(&self, container: &str) -> bool {
        self.equipment.iter().any(|e| e.container == container)
    }

    /// The document's entry for a container.
    pub fn equipment_of(&self, container: &str) -> Option<&Equipment> {
        self.equipment.iter().find(|e| e.container == container)
    }

    /// Opens the sealed body with the document's key and puts the document together again,
    /// checking it as its sender had to: the plaintext matches its commitment, every field is
    /// well formed, and a kept DCSA document states what the header says. A reader whose copy
    /// fails here holds a document that does not match its record (see the hand-back rule).
    pub fn open(&self, key: &TermsKey) -> Result<PlainTransportDocument, SealError> {
        let body: TransportBody = key.open(&self.body)?;
        let dcsa_code = body.dcsa.as_ref().map(|d| d.carrier_code.clone());
        if dcsa_code != self.carrier_code {
            return Err(SealError::Mismatch(
                "the sealed DCSA document's carrier code is not the header's".into(),
            ));
        }
        let plain = PlainTransportDocument {
            reference: self.reference.clone(),
            kind: self.kind,
            to_order: self.to_order,
            shipper: self.shipper,
            consignee: self.consignee,
            endorsee: self.endorsee,
            notify_parties: body.notify_parties,
            vessel_name: body.vessel_name,
            voyage: body.voyage,
            port_of_loading: self.port_of_loading.clone(),
            port_of_discharge: self.port_of_discharge.clone(),
            shipped_on_board_date: self.shipped_on_board_date,
            goods: body.goods,
            equipment: self.equipment.clone(),
            freight_term: self.freight_term,
            document_hash: self.document_hash,
            replaces: self.replaces.clone(),
            dcsa: body.dcsa,
        };
        plain
            .validate()
            .map_err(|e| SealError::Mismatch(e.to_string()))?;
        Ok(plain)
    }
}

impl PlainTransportDocument {
    /// Whether a container is on this document.
    pub fn has_container(&self, container: &str) -> bool {
        self.equipment.iter().any(|e| e.container == container)
    }

    /// Checks every field on its own (no state): the header's checks, and the body's formats
    /// (notify parties, vessel, goods lines, a kept DCSA document against the rest).
    pub fn validate(&self) -> Result<(), RuleError> {
        let (header, _) = self.split(empty_body(), Vec::new());
        header.validate()?;
        let invalid = |field, reason: &str| {
            Err(RuleError::InvalidField {
                field,
                reason: reason.to_string(),
            })
        };
        if self.notify_parties.len() > 10 {
            return invalid("notify_parties", "at most 10 notify parties");
        }
        for n in &self.notify_parties {
            check_text("notify_parties", n, 200)?;
        }
        check_text("vessel_name", &self.vessel_name, 100)?;
        check_text("voyage", &self.voyage, 50)?;
        if self.goods.is_empty() || self.goods.len() > 1000 {
            return invalid("goods", "must list 1 to 1000 goods lines");
        }
        for g in &self.goods {
            check_text("goods.description", &g.description, 1000)?;
            check_hs_code("goods.hs_code", &g.hs_code)?;
        }
        if let Some(d) = &self.dcsa {
            d.validate(self)?;
        }
        Ok(())
    }

    /// The public header with `body` and `keys`, and the confidential rest.
    fn split(&self, body: Sealed, keys: Vec<KeyWrap>) -> (TransportDocumentData, TransportBody) {
        let header = TransportDocumentData {
            reference: self.reference.clone(),
            kind: self.kind,
            to_order: self.to_order,
            shipper: self.shipper,
            consignee: self.consignee,
            endorsee: self.endorsee,
            port_of_loading: self.port_of_loading.clone(),
            port_of_discharge: self.port_of_discharge.clone(),
            shipped_on_board_date: self.shipped_on_board_date,
            equipment: self.equipment.clone(),
            freight_term: self.freight_term,
            document_hash: self.document_hash,
            replaces: self.replaces.clone(),
            carrier_code: self.dcsa.as_ref().map(|d| d.carrier_code.clone()),
            body,
            keys,
        };
        let rest = TransportBody {
            notify_parties: self.notify_parties.clone(),
            vessel_name: self.vessel_name.clone(),
            voyage: self.voyage.clone(),
            goods: self.goods.clone(),
            dcsa: self.dcsa.clone(),
        };
        (header, rest)
    }

    /// Seals the document for the ledger: the confidential rest under a new document key,
    /// wrapped for each of `readers` (its parties' registered keys, and the customs auditor's).
    /// Returns the key (to wrap for later readers) and the document as it goes on the ledger.
    pub fn seal(
        &self,
        readers: &[EncryptionKey],
    ) -> Result<(TermsKey, TransportDocumentData), SealError> {
        let (mut header, rest) = self.split(empty_body(), Vec::new());
        let key = TermsKey::generate();
        header.body = key.seal(&rest);
        header.keys = key.wrap_for_all(readers)?;
        Ok((key, header))
    }
}

fn empty_body() -> Sealed {
    Sealed {
        commitment: Hash::ZERO,
        nonce: crate::sealed::SealNonce([0; 12]),
        ciphertext: crate::sealed::Ciphertext(Vec::new()),
    }
}

/// States of a transport document (domain.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TransportDocumentState {
    /// Drafted by the carrier, awaiting the shipper's approval.
    Draft,
    /// Draft approved by the shipper.
    Approved,
    /// Issued: has a possessor.
    Issued,
    /// Surrender for delivery requested; the carrier holds it.
    PendingSurrenderForDelivery,
    /// Surrendered for delivery (terminal for transfers).
    SurrenderedForDelivery,
    /// Surrender for amendment requested.
    PendingSurrenderForAmendment,
    /// Voided (terminal).
    Voided,
}

impl TransportDocumentState {
    /// The name as in domain.md.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "DRAFT",
            Self::Approved => "APPROVED",
            Self::Issued => "ISSUED",
            Self::PendingSurrenderForDelivery => "PENDING_SURRENDER_FOR_DELIVERY",
            Self::SurrenderedForDelivery => "SURRENDERED_FOR_DELIVERY",
            Self::PendingSurrenderForAmendment => "PENDING_SURRENDER_FOR_AMENDMENT",
            Self::Voided => "VOIDED",
        }
    }

    /// Issued and not voided: every state from ISSUED on but VOIDED (a draft or approved draft
    /// is not yet a document; a voided one no longer is).
    pub fn is_in_force(self) -> bool {
        !matches!(self, Self::Draft | Self::Approved | Self::Voided)
    }

    /// Terminal states admit no transaction that changes control (MLETR finality).
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::SurrenderedForDelivery | Self::Voided)
    }
}

impl fmt::Display for TransportDocumentState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Reasons for a surrender for amendment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AmendmentReason {
    /// Switch to a paper bill of lading.
    SwitchToPaper,
    /// Change of destination.
    ChangeOfDestination,
    /// Switch bill of lading.
    SwitchBl,
}

/// A surrender waiting for the carrier's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingSurrender {
    /// Who asked (possession returns to them on rejection).
    pub requester: PublicKey,
    /// The requester's endorsement status, restored on rejection.
    pub endorsee_before: Option<PublicKey>,
    /// Whether it was blank-endorsed before.
    pub blank_before: bool,
    /// For an amendment, why.
    pub amendment: Option<AmendmentReason>,
}

/// How long a party just handed a sealed eBL may hand it back (24 hours of block time).
pub const HAND_BACK_WINDOW_MS: u64 = 24 * 60 * 60 * 1000;

/// The last hand-over of an eBL to a party that had never held it, while that party may still
/// hand it back ([`crate::transaction::Payload::HandBack`]): cleared as soon as the new holder
/// acts on the document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Handover {
    /// The possessor it came from, to whom it returns.
    pub from: PublicKey,
    /// The endorsee before the hand-over, restored on return.
    pub endorsee_before: Option<PublicKey>,
    /// Whether it was blank-endorsed before.
    pub blank_before: bool,
    /// Block time of the hand-over.
    pub at_ms: u64,
}

/// A transport document as recorded on the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransportDocument {
    /// Its fields.
    pub data: TransportDocumentData,
    /// Current state.
    pub state: TransportDocumentState,
    /// The carrier that drafted or issued it.
    pub carrier: PublicKey,
    /// The one party in control (after issue).
    pub possessor: Option<PublicKey>,
    /// Current endorsee of a to-order document.
    pub endorsee: Option<PublicKey>,
    /// Endorsed in blank: any possessor is entitled.
    pub blank_endorsed: bool,
    /// The surrender being decided, if any.
    pub pending_surrender: Option<PendingSurrender>,
    /// The party whose surrender was accepted: for delivery (SURRENDERED_FOR_DELIVERY), or for
    /// amendment (VOIDED; the replacement goes to this party).
    pub surrendered_by: Option<PublicKey>,
    /// The one document that replaces this voided one, once issued.
    pub replaced_by: Option<String>,
    /// Freight paid (always true for prepaid).
    pub freight_paid: bool,
    /// The party the carrier issued a delivery order to.
    pub delivery_order_to: Option<PublicKey>,
    /// Containers released by the port operator.
    pub released_containers: Vec<String>,
    /// The credit under which it was presented, while presented.
    pub presented_under: Option<String>,
    /// Every party that has held it, in the order each first held it (the current possessor
    /// included): its past possessors keep the right to read it.
    pub holders: Vec<PublicKey>,
    /// The document key wrapped for each reader it gained after issue (new possessors,
    /// endorsees), from the [`KeyShare`]s of the transactions that made them readers.
    pub shared: Vec<KeyWrap>,
    /// The last hand-over to a first-time holder, while it may be handed back.
    pub handover: Option<Handover>,
}

impl TransportDocument {
    /// Every wrap of the document key: those it was drafted or issued with, then those shared.
    pub fn wraps(&self) -> impl Iterator<Item = &KeyWrap> {
        self.data.keys.iter().chain(&self.shared)
    }

    /// The parties entitled to the document key: its carrier, shipper, consignee, endorsees
    /// (named at issue, and current) and every party that has held it.
    pub fn readers(&self) -> Vec<PublicKey> {
        let mut r = vec![self.carrier, self.data.shipper];
        r.extend(self.data.consignee);
        r.extend(self.data.endorsee);
        r.extend(self.endorsee);
        r.extend(self.holders.iter().copied());
        r.sort();
        r.dedup();
        r
    }

    /// The document key, as `reader` unwraps it.
    pub fn key_for(&self, reader: &Keypair) -> Result<TermsKey, SealError> {
        let me = DecryptionKey::of(reader);
        let mine = me.public();
        self.wraps()
            .find(|w| w.recipient == mine)
            .ok_or(SealError::NotARecipient)
            .and_then(|w| me.unwrap(w))
    }

    /// The document in the clear, as `reader` opens it (see [`TransportDocumentData::open`]).
    pub fn open(&self, reader: &Keypair) -> Result<PlainTransportDocument, SealError> {
        self.data.open(&self.key_for(reader)?)
    }

    /// Whether the document key is already wrapped for `key`.
    pub fn wrapped_for(&self, key: &EncryptionKey) -> bool {
        self.wraps().any(|w| w.recipient == *key)
    }

    /// A [`KeyShare`] of the document key, unwrapped with `holder`'s key and wrapped for
    /// `recipient`: what a transferor adds to the transaction that makes `recipient` a reader.
    pub fn share_with(
        &self,
        holder: &Keypair,
        recipient: &EncryptionKey,
    ) -> Result<KeyShare, SealError> {
        Ok(KeyShare {
            reference: self.data.reference.clone(),
            wrap: self.key_for(holder)?.wrap_for(recipient)?,
        })
    }

    /// Whether the document holds the container live: issued (not a draft), not voided, and the
    /// container not yet gated out. Singularity across documents is judged on live documents.
    pub fn holds_live(&self, container: &str) -> bool {
        self.state.is_in_force()
            && self.data.has_container(container)
            && !self.released_containers.iter().any(|c| c == container)
    }

    /// The party entitled to take delivery, once the document is accomplished for delivery: the
    /// party whose surrender of the eBL was accepted, or the consignee of an issued sea waybill.
    pub fn accomplished_for(&self) -> Option<PublicKey> {
        match (self.data.kind, self.state) {
            (
                TransportDocumentKind::BillOfLading,
                TransportDocumentState::SurrenderedForDelivery,
            ) => self.surrendered_by,
            (TransportDocumentKind::SeaWaybill, TransportDocumentState::Issued) => {
                self.data.consignee
            }
            _ => None,
        }
    }

    /// Whether every container has been released.
    pub fn fully_released(&self) -> bool {
        self.data
            .equipment
            .iter()
            .all(|e| self.released_containers.contains(&e.container))
    }
}
