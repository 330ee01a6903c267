//! Transport documents: the electronic bill of lading (eBL) and the sea waybill, after DCSA eBL 3.0.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::crypto::{Hash, PublicKey};
use crate::date::Date;
use crate::documents::{check_container, check_hs_code, check_locode, check_reference, check_text};
use crate::error::RuleError;

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

/// The fields of a transport document as the carrier drafts or issues it.
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
}

impl TransportDocumentData {
    /// Checks the fields on their own (no state): formats, and the straight / to-order rules.
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
        if self.notify_parties.len() > 10 {
            return invalid("notify_parties", "at most 10 notify parties");
        }
        for n in &self.notify_parties {
            check_text("notify_parties", n, 200)?;
        }
        check_text("vessel_name", &self.vessel_name, 100)?;
        check_text("voyage", &self.voyage, 50)?;
        check_locode("port_of_loading", &self.port_of_loading)?;
        check_locode("port_of_discharge", &self.port_of_discharge)?;
        if self.goods.is_empty() || self.goods.len() > 1000 {
            return invalid("goods", "must list 1 to 1000 goods lines");
        }
        for g in &self.goods {
            check_text("goods.description", &g.description, 1000)?;
            check_hs_code("goods.hs_code", &g.hs_code)?;
        }
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
}

impl TransportDocument {
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
