//! The native JSON input forms of `interface.md`: `lc apply`, `lc amend`, `customs declare`, and
//! the native transport document of `bl draft` / `bl issue`. Unknown fields are errors; amounts
//! are decimal strings turned into minor units; parties are aliases or public keys.

use portledger_ledger::date::Date;
use portledger_ledger::documents::credit::{
    CreditAmendment, CreditBody, CreditTerms, RequiredDocument, DEFAULT_PRESENTATION_DAYS,
};
use portledger_ledger::documents::customs::{
    DeclarationBody, DeclarationData, DeclarationLine, Direction,
};
use portledger_ledger::documents::transport::{
    Equipment, FreightTerm, GoodsLine, PlainTransportDocument, TransportDocumentKind,
};
use portledger_ledger::sealed::{seal_for, EncryptionKey, TermsKey};
use portledger_ledger::{Hash, PublicKey};
use serde::Deserialize;
use serde_json::Value;

// Canonical JSON and amounts have modules of their own; re-exported so `inputs::` paths keep working.
pub use crate::canonical_json::{canonical_hash, canonical_json};
use crate::error::{ClientError, Result};
pub use crate::money::{format_amount, minor_digits, parse_amount};
use crate::parties::Directory;

fn parse_date(field: &str, s: &str) -> Result<Date> {
    Date::parse(s).map_err(|e| ClientError::Input(format!("{field}: {e}")))
}

fn from_value<T: serde::de::DeserializeOwned>(what: &str, v: Value) -> Result<T> {
    serde_json::from_value(v).map_err(|e| ClientError::Input(format!("{what}: {e}")))
}

/// Native `lc apply` input.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreditApplication {
    /// Credit number.
    pub number: String,
    /// Applicant (alias or key).
    pub applicant: String,
    /// Beneficiary.
    pub beneficiary: String,
    /// Issuing bank.
    pub issuing_bank: String,
    /// Advising bank.
    #[serde(default)]
    pub advising_bank: Option<String>,
    /// Confirming bank.
    #[serde(default)]
    pub confirming_bank: Option<String>,
    /// ISO 4217 currency.
    pub currency: String,
    /// Decimal amount.
    pub amount: String,
    /// Tolerance percent (default 0).
    #[serde(default)]
    pub tolerance_percent: u8,
    /// Expiry date.
    pub expiry_date: String,
    /// Expiry place.
    pub expiry_place: String,
    /// Latest shipment date.
    #[serde(default)]
    pub latest_shipment_date: Option<String>,
    /// Port of loading (UN/LOCODE).
    #[serde(default)]
    pub port_of_loading: Option<String>,
    /// Port of discharge (UN/LOCODE).
    #[serde(default)]
    pub port_of_discharge: Option<String>,
    /// Presentation period in days (default 21).
    #[serde(default)]
    pub presentation_days: Option<u32>,
    /// Required documents.
    pub documents_required: Vec<RequiredDocument>,
    /// Goods description.
    pub goods: String,
}

impl CreditApplication {
    /// Parses the JSON of `lc apply --file`.
    pub fn parse(v: Value) -> Result<CreditApplication> {
        from_value("lc apply file", v)
    }

    /// The confidential terms (sealed on the ledger).
    pub fn body(&self) -> Result<CreditBody> {
        let body = CreditBody {
            currency: self.currency.clone(),
            amount_minor: parse_amount("amount", &self.amount, &self.currency)?,
            tolerance_percent: self.tolerance_percent,
            goods: self.goods.clone(),
        };
        body.validate()
            .map_err(|e| ClientError::Input(e.to_string()))?;
        Ok(body)
    }

    /// The ledger's terms, parties resolved; the confidential terms sealed under a new key
    /// wrapped for each party of the credit (their keys from the directory).
    pub fn to_terms(&self, dir: &Directory) -> Result<CreditTerms> {
        let opt = |p: &Option<String>| -> Result<Option<PublicKey>> {
            p.as_deref().map(|p| dir.resolve(p)).transpose()
        };
        let applicant = dir.resolve(&self.applicant)?;
        let beneficiary = dir.resolve(&self.beneficiary)?;
        let issuing_bank = dir.resolve(&self.issuing_bank)?;
        let advising_bank = opt(&self.advising_bank)?;
        let confirming_bank = opt(&self.confirming_bank)?;
        let mut parties = vec![applicant, beneficiary, issuing_bank];
        parties.extend(advising_bank);
        parties.extend(confirming_bank);
        let readers = dir.encryption_keys(&parties)?;
        let (_, body, keys) = seal_for(&self.body()?, &readers)
            .map_err(|e| ClientError::Input(format!("cannot seal the credit's terms: {e}")))?;
        Ok(CreditTerms {
            number: self.number.clone(),
            applicant,
            beneficiary,
            issuing_bank,
            advising_bank,
            confirming_bank,
            expiry_date: parse_date("expiry_date", &self.expiry_date)?,
            expiry_place: self.expiry_place.clone(),
            latest_shipment_date: self
                .latest_shipment_date
                .as_deref()
                .map(|d| parse_date("latest_shipment_date", d))
                .transpose()?,
            port_of_loading: self.port_of_loading.clone(),
            port_of_discharge: self.port_of_discharge.clone(),
            documents_required: self.documents_required.clone(),
            presentation_days: self.presentation_days.unwrap_or(DEFAULT_PRESENTATION_DAYS),
            body,
            keys,
        })
    }
}

/// Native `lc amend --file` input: every field optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreditAmendmentInput {
    /// New decimal amount (in the credit's currency).
    #[serde(default)]
    pub amount: Option<String>,
    /// New expiry date.
    #[serde(default)]
    pub expiry_date: Option<String>,
    /// New latest shipment date.
    #[serde(default)]
    pub latest_shipment_date: Option<String>,
    /// New presentation period.
    #[serde(default)]
    pub presentation_days: Option<u32>,
    /// New required documents.
    #[serde(default)]
    pub documents_required: Option<Vec<RequiredDocument>>,
    /// New goods description.
    #[serde(default)]
    pub goods: Option<String>,
}

impl CreditAmendmentInput {
    /// Parses the JSON of `lc amend --file`.
    pub fn parse(v: Value) -> Result<CreditAmendmentInput> {
        from_value("lc amend file", v)
    }

    /// The ledger's amendment of a credit whose key and current confidential terms are
    /// `current`: a new amount or goods description re-seals the terms under the same key.
    pub fn to_amendment(&self, current: &(TermsKey, CreditBody)) -> Result<CreditAmendment> {
        let (key, body) = current;
        let mut amended = body.clone();
        if let Some(a) = &self.amount {
            amended.amount_minor = parse_amount("amount", a, &body.currency)?;
        }
        if let Some(g) = &self.goods {
            amended.goods = g.clone();
        }
        amended
            .validate()
            .map_err(|e| ClientError::Input(e.to_string()))?;
        Ok(CreditAmendment {
            body: (amended != *body).then(|| key.seal(&amended)),
            expiry_date: self
                .expiry_date
                .as_deref()
                .map(|d| parse_date("expiry_date", d))
                .transpose()?,
            latest_shipment_date: self
                .latest_shipment_date
                .as_deref()
                .map(|d| parse_date("latest_shipment_date", d))
                .transpose()?,
            presentation_days: self.presentation_days,
            documents_required: self.documents_required.clone(),
        })
    }
}

/// One line of a native declaration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclarationLineInput {
    /// HS code.
    pub hs_code: String,
    /// Description.
    pub description: String,
    /// ISO 3166 country of origin.
    pub origin_country: String,
    /// Decimal customs value.
    pub value: String,
    /// ISO 4217 currency.
    pub currency: String,
}

/// Native `customs declare` input.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclarationInput {
    /// Declaration number.
    pub number: String,
    /// `IMPORT` or `EXPORT`.
    pub direction: Direction,
    /// The declarant (alias or key); must be the signer.
    pub declarant: String,
    /// Transport document reference.
    pub transport_document: String,
    /// Containers of that document it covers (ISO 6346); none listed means all of them.
    #[serde(default)]
    pub containers: Vec<String>,
    /// Goods lines.
    pub lines: Vec<DeclarationLineInput>,
}

impl DeclarationInput {
    /// Parses the JSON of `customs declare --file`.
    pub fn parse(v: Value) -> Result<DeclarationInput> {
        from_value("customs declare file", v)
    }

    /// The ledger's declaration; the declarant must be `signer` (the ledger takes the signer
    /// as the declarant). Its lines are sealed under a new key wrapped for the declarant and
    /// for `auditor`, the customs auditor key of genesis.
    pub fn to_data(
        &self,
        dir: &Directory,
        signer: &PublicKey,
        auditor: Option<EncryptionKey>,
    ) -> Result<DeclarationData> {
        let declarant = dir.resolve(&self.declarant)?;
        if declarant != *signer {
            return Err(ClientError::Input(format!(
                "declarant {} is not the signing key {} (--key): the declarant signs the declaration",
                self.declarant,
                dir.show(signer)
            )));
        }
        let lines = self
            .lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                Ok(DeclarationLine {
                    hs_code: l.hs_code.clone(),
                    description: l.description.clone(),
                    origin_country: l.origin_country.clone(),
                    value_minor: parse_amount(&format!("lines[{i}].value"), &l.value, &l.currency)?,
                    currency: l.currency.clone(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let body = DeclarationBody { lines };
        body.validate()
            .map_err(|e| ClientError::Input(e.to_string()))?;
        let mut readers = dir.encryption_keys(&[declarant])?;
        readers.extend(auditor);
        let (_, sealed, keys) = seal_for(&body, &readers)
            .map_err(|e| ClientError::Input(format!("cannot seal the declaration: {e}")))?;
        Ok(DeclarationData {
            number: self.number.clone(),
            direction: self.direction,
            transport_document: self.transport_document.clone(),
            containers: self.containers.clone(),
            body: sealed,
            keys,
        })
    }
}

/// Native transport document input of `bl draft` / `bl issue`: the ledger's fields with parties
/// as aliases or keys and without `document_hash` (computed: the canonical JSON of the file, or
/// the `--render` file).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransportDocumentInput {
    /// Reference.
    pub reference: String,
    /// `BOL` or `SWB`.
    pub kind: TransportDocumentKind,
    /// To order.
    pub to_order: bool,
    /// Shipper.
    pub shipper: String,
    /// Consignee (straight).
    #[serde(default)]
    pub consignee: Option<String>,
    /// Endorsee (to order).
    #[serde(default)]
    pub endorsee: Option<String>,
    /// Notify parties (free text).
    #[serde(default)]
    pub notify_parties: Vec<String>,
    /// Vessel.
    pub vessel_name: String,
    /// Voyage.
    pub voyage: String,
    /// UN/LOCODE.
    pub port_of_loading: String,
    /// UN/LOCODE.
    pub port_of_discharge: String,
    /// Shipped-on-board date.
    #[serde(default)]
    pub shipped_on_board_date: Option<Date>,
    /// Goods lines.
    pub goods: Vec<GoodsLine>,
    /// Containers.
    pub equipment: Vec<Equipment>,
    /// `PRE` or `COL`.
    pub freight_term: FreightTerm,
    /// Voided reference this replaces.
    #[serde(default)]
    pub replaces: Option<String>,
}

impl TransportDocumentInput {
    /// The document in the clear, parties resolved, with the given document hash.
    pub fn to_data(&self, dir: &Directory, document_hash: Hash) -> Result<PlainTransportDocument> {
        let opt = |p: &Option<String>| -> Result<Option<PublicKey>> {
            p.as_deref().map(|p| dir.resolve(p)).transpose()
        };
        Ok(PlainTransportDocument {
            reference: self.reference.clone(),
            kind: self.kind,
            to_order: self.to_order,
            shipper: dir.resolve(&self.shipper)?,
            consignee: opt(&self.consignee)?,
            endorsee: opt(&self.endorsee)?,
            notify_parties: self.notify_parties.clone(),
            vessel_name: self.vessel_name.clone(),
            voyage: self.voyage.clone(),
            port_of_loading: self.port_of_loading.clone(),
            port_of_discharge: self.port_of_discharge.clone(),
            shipped_on_board_date: self.shipped_on_board_date,
            goods: self.goods.clone(),
            equipment: self.equipment.clone(),
            freight_term: self.freight_term,
            document_hash,
            replaces: self.replaces.clone(),
            dcsa: None,
        })
    }
}

/// A transport document read from a file, in whichever form it came.
#[derive(Debug, Clone)]
pub struct TransportDocumentFile {
    /// The document in the clear (sealed when signed: [`PlainTransportDocument::seal`]).
    pub data: PlainTransportDocument,
    /// The first possessor an issuance request names (`issueTo`).
    pub issue_to: Option<PublicKey>,
    /// `native`, `dcsa` or `dcsa-issuance-request`.
    pub form: &'static str,
    /// What a DCSA document "should" hold and does not (accepted; printed with the result).
    pub warnings: Vec<String>,
}

/// Reads a transport document JSON: native, a bare DCSA `TransportDocument`, or a DCSA issuance
/// request with the document under `document`; detected by its keys. `render` is the rendered
/// file whose SHA-256 a native document pins (default: the canonical JSON of the input); a DCSA
/// document is always pinned by its own canonical JSON, which the ledger keeps.
pub fn transport_document(
    v: Value,
    dir: &Directory,
    render: Option<&[u8]>,
) -> Result<TransportDocumentFile> {
    let Value::Object(m) = &v else {
        return Err(ClientError::Input(
            "a transport document file must hold a JSON object".into(),
        ));
    };
    let no_render = |form: &str| -> Result<()> {
        if render.is_some() {
            return Err(ClientError::Input(format!(
                "--render is for native documents: a {form} document is pinned by its own canonical JSON, which the ledger keeps"
            )));
        }
        Ok(())
    };
    if m.contains_key("reference") {
        let hash = render.map_or_else(|| canonical_hash(&v), Hash::of);
        let input: TransportDocumentInput = from_value("native transport document", v.clone())?;
        let data = input.to_data(dir, hash)?;
        return Ok(TransportDocumentFile {
            data,
            issue_to: None,
            form: "native",
            warnings: Vec::new(),
        });
    }
    if let Some(doc) = m.get("document").filter(|d| d.is_object()) {
        no_render("DCSA")?;
        let mapped = crate::dcsa::map_transport_document(doc, dir, "document.")?;
        let issue_to = match m.get("issueTo").filter(|p| !p.is_null()) {
            Some(p) => Some(crate::dcsa::map_party("issueTo", p, dir)?),
            None => None,
        };
        return Ok(TransportDocumentFile {
            data: mapped.data,
            issue_to,
            form: "dcsa-issuance-request",
            warnings: mapped.warnings,
        });
    }
    if m.contains_key("transportDocumentReference") {
        no_render("DCSA")?;
        let mapped = crate::dcsa::map_transport_document(&v, dir, "")?;
        return Ok(TransportDocumentFile {
            data: mapped.data,
            issue_to: None,
            form: "dcsa",
            warnings: mapped.warnings,
        });
    }
    Err(ClientError::Input(
        "not a transport document: expected the native form (with \"reference\"), a DCSA \
         TransportDocument (with \"transportDocumentReference\") or a DCSA issuance request \
         (with \"document\")"
            .into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn directory() -> Directory {
        crate::dcsa::tests::dir()
    }

    #[test]
    fn forms_are_detected_and_the_hash_pins_the_canonical_json_or_the_rendering() {
        let d = directory();
        let bare = crate::dcsa::tests::sample();
        let a = transport_document(bare.clone(), &d, None).expect("bare DCSA");
        assert_eq!(a.form, "dcsa");
        assert_eq!(a.data.document_hash, canonical_hash(&bare));
        // Key order and spacing do not matter; content does.
        let reordered: Value =
            serde_json::from_str(&serde_json::to_string_pretty(&bare).expect("json"))
                .expect("json");
        assert_eq!(
            transport_document(reordered, &d, None)
                .expect("again")
                .data
                .document_hash,
            a.data.document_hash
        );
        let mut changed = bare.clone();
        changed["carrierCode"] = json!("XXXX");
        assert_ne!(
            transport_document(changed, &d, None)
                .expect("changed")
                .data
                .document_hash,
            a.data.document_hash
        );
        // A DCSA document is pinned by its own canonical JSON, never by a rendering.
        assert!(transport_document(bare.clone(), &d, Some(b"%PDF rendered")).is_err());
        let req = json!({"document": bare, "issueTo": {"partyName": "Buyer Ltd",
            "identifyingCodes": [{"codeListProvider": "GLEIF", "partyCode": "BUYERLEI"}]}});
        let r = transport_document(req, &d, None).expect("issuance request");
        assert_eq!(r.form, "dcsa-issuance-request");
        assert_eq!(r.issue_to, d.resolve("buyer").ok());
        // issueTo is never dropped: one that names nobody is refused with its path.
        let req = json!({"document": crate::dcsa::tests::sample(), "issueTo": {"partyName": "Nobody Ltd",
            "identifyingCodes": [{"codeListProvider": "BOLE", "partyCode": "BOLE404"}]}});
        let e = transport_document(req, &d, None)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("issueTo.identifyingCodes[0].partyCode"), "{e}");
        assert!(transport_document(json!({"hello": 1}), &d, None).is_err());
    }

    #[test]
    fn unknown_fields_are_errors() {
        let v = json!({"number": "1", "direction": "IMPORT", "declarant": "buyer",
            "transport_document": "BL1", "lines": [], "extra": 1});
        let e = DeclarationInput::parse(v).err().map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.contains("extra")));
    }
}
