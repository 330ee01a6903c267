//! A realistic synthetic workload for load tests and benchmarks: many parties, each with its own
//! nonce sequence, issuing, transferring and anchoring trade documents.
//!
//! The parties are arranged in *lanes*. A lane is one carrier participant and one trader
//! participant; every cycle of a lane is four transactions: the carrier issues an eBL to the
//! trader (as shipper), the trader transfers it to the next lane's trader, and each of them
//! anchors a commercial document. Transactions of one lane depend on each other (nonces, the
//! transfer on its issue) and must reach a node in order; lanes are independent of each other,
//! so a load generator submits each lane sequentially and the lanes in parallel.
//!
//! Everything here is pure: the same seed, genesis and sizes give the same transactions, but
//! for the sealed bodies and key wraps, which draw fresh randomness (salts, nonces, ephemeral
//! keys). Each eBL is sealed for its carrier, its shipper and the customs auditor of genesis,
//! and the transfer shares its key with the new holder, as a real client does.

use crate::crypto::{Hash, Keypair, PublicKey};
use crate::documents::anchor::DocumentType;
use crate::documents::container_number;
use crate::documents::transport::{
    Equipment, FreightTerm, GoodsLine, KeyShare, PlainTransportDocument, TransportDocumentKind,
};
use crate::genesis::{Genesis, Role};
use crate::sealed::EncryptionKey;
use crate::transaction::{Payload, Transaction};

/// One party of the workload: a fresh key to be registered by the port operator.
#[derive(Debug, Clone)]
pub struct LoadParty {
    /// Alias to register.
    pub alias: String,
    /// Organisation to register it under.
    pub organisation: String,
    /// Its key.
    pub key: Keypair,
}

/// A lane: a carrier and a trader whose transactions are submitted in order.
#[derive(Debug, Clone)]
pub struct Lane {
    /// The carrier participant.
    pub carrier: LoadParty,
    /// The trader participant.
    pub trader: LoadParty,
}

/// Why a workload cannot be made for a genesis.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkloadError {
    /// Genesis has no organisation with a role the workload needs.
    #[error("genesis has no {0:?} organisation to register load parties under")]
    MissingRole(Role),
    /// Fewer than one lane.
    #[error("a workload needs at least 2 parties (one carrier and one trader)")]
    TooFewParties,
}

/// The parties of a workload run.
#[derive(Debug, Clone)]
pub struct Workload {
    /// Chain the transactions are for.
    pub chain_id: String,
    /// A short tag that makes this run's aliases and references unique on a chain.
    pub run: String,
    /// The lanes.
    pub lanes: Vec<Lane>,
    /// The customs auditor key of genesis, for which every eBL's key is wrapped.
    pub auditor: Option<EncryptionKey>,
}

fn organisation(genesis: &Genesis, role: Role) -> Result<String, WorkloadError> {
    genesis
        .organisations
        .iter()
        .find(|o| o.role == role)
        .map(|o| o.name.clone())
        .ok_or(WorkloadError::MissingRole(role))
}

impl Workload {
    /// `parties` parties (rounded down to an even number: `parties / 2` lanes), with keys
    /// derived from `seed`; `run` tags aliases and references.
    pub fn new(
        genesis: &Genesis,
        run: &str,
        parties: usize,
        seed: u64,
    ) -> Result<Workload, WorkloadError> {
        if parties < 2 {
            return Err(WorkloadError::TooFewParties);
        }
        let carrier_org = organisation(genesis, Role::Carrier)?;
        let trader_org = organisation(genesis, Role::Trader)?;
        let key = |kind: &str, i: usize| {
            let mut s = [0u8; 32];
            s.copy_from_slice(
                Hash::of(format!("portledger-load/{seed}/{run}/{kind}/{i}").as_bytes()).as_bytes(),
            );
            Keypair::from_seed(s)
        };
        let lanes = (0..parties / 2)
            .map(|i| Lane {
                carrier: LoadParty {
                    alias: format!("load-{run}-carrier-{i}"),
                    organisation: carrier_org.clone(),
                    key: key("carrier", i),
                },
                trader: LoadParty {
                    alias: format!("load-{run}-trader-{i}"),
                    organisation: trader_org.clone(),
                    key: key("trader", i),
                },
            })
            .collect();
        Ok(Workload {
            chain_id: genesis.chain_id.clone(),
            run: run.to_string(),
            lanes,
            auditor: genesis.customs_auditor,
        })
    }

    /// The registrations of every party, signed by the port operator's `port` key from nonce
    /// `first_nonce` on.
    pub fn registrations(&self, port: &Keypair, first_nonce: u64) -> Vec<Transaction> {
        self.lanes
            .iter()
            .flat_map(|l| [&l.carrier, &l.trader])
            .enumerate()
            .map(|(i, p)| {
                Transaction::sign(
                    port,
                    &self.chain_id,
                    first_nonce + i as u64,
                    Payload::RegisterParticipant {
                        alias: p.alias.clone(),
                        public_key: p.key.public(),
                        encryption_key: p.key.encryption_key(),
                        organisation: p.organisation.clone(),
                    },
                )
            })
            .collect()
    }

    /// About `count` transactions, split evenly over the lanes: `result[lane]` is that lane's
    /// transactions in the order they must be submitted. Every lane gets whole cycles of four.
    pub fn lane_transactions(&self, count: usize) -> Vec<Vec<Transaction>> {
        let lanes = self.lanes.len();
        let cycles = count.div_ceil(4 * lanes);
        (0..lanes).map(|i| self.lane_cycles(i, cycles)).collect()
    }

    /// The run's `n`th container: an owner code from the run tag, and `n` as the serial, so
    /// that each eBL of a run has a container of its own (a container stands on one live
    /// document at a time). Two runs on one chain share an owner code only by a 1 in 17,576
    /// chance; their eBLs would then be refused with `container_on_live_document`.
    pub fn container(&self, n: usize) -> String {
        let h = Hash::of(self.run.as_bytes());
        let owner: String = h.as_bytes()[..3]
            .iter()
            .map(|b| char::from(b'A' + b % 26))
            .collect();
        container_number(&owner, n as u32).unwrap_or_else(|| "MSCU1234566".into())
    }

    fn lane_cycles(&self, i: usize, cycles: usize) -> Vec<Transaction> {
        let lane = &self.lanes[i];
        let next = &self.lanes[(i + 1) % self.lanes.len()].trader.key;
        let next_trader = next.public();
        let shipper = lane.trader.key.public();
        let mut readers = vec![
            lane.carrier.key.encryption_key(),
            lane.trader.key.encryption_key(),
        ];
        readers.extend(self.auditor);
        let next_reader = next.encryption_key();
        let mut out = Vec::with_capacity(cycles * 4);
        for c in 0..cycles {
            let nonce = c as u64 * 2 + 1;
            let reference = format!("LD{}L{i}N{c}", self.run).to_uppercase();
            let plain = bill_of_lading(&reference, shipper, &self.container(i * cycles + c));
            // The keys are generated here and well formed: sealing cannot fail.
            let Ok((key, document)) = plain.seal(&readers) else {
                continue;
            };
            let Ok(wrap) = key.wrap_for(&next_reader) else {
                continue;
            };
            out.push(Transaction::sign(
                &lane.carrier.key,
                &self.chain_id,
                nonce,
                Payload::IssueTransportDocument {
                    reference: reference.clone(),
                    document: Some(Box::new(document)),
                    issue_to: None,
                },
            ));
            out.push(Transaction::sign_sharing(
                &lane.trader.key,
                &self.chain_id,
                nonce,
                Payload::Transfer {
                    reference: reference.clone(),
                    to: next_trader,
                },
                vec![KeyShare {
                    reference: reference.clone(),
                    wrap,
                }],
            ));
            for (who, n, doc_type) in [
                (&lane.trader, nonce + 1, DocumentType::CommercialInvoice),
                (&lane.carrier, nonce + 1, DocumentType::PackingList),
            ] {
                out.push(Transaction::sign(
                    &who.key,
                    &self.chain_id,
                    n,
                    Payload::AnchorDocument {
                        hash: Hash::of(format!("{reference}/{}", who.alias).as_bytes()),
                        doc_type,
                        references: vec![reference.clone()],
                    },
                ));
            }
        }
        out
    }
}

/// A plausible to-order bill of lading for one container from Shanghai to Rotterdam.
pub fn bill_of_lading(
    reference: &str,
    shipper: PublicKey,
    container: &str,
) -> PlainTransportDocument {
    PlainTransportDocument {
        reference: reference.to_string(),
        kind: TransportDocumentKind::BillOfLading,
        to_order: true,
        shipper,
        consignee: None,
        endorsee: None,
        notify_parties: vec![],
        vessel_name: "LOAD TEST VESSEL".into(),
        voyage: "001E".into(),
        port_of_loading: "CNSHA".into(),
        port_of_discharge: "NLRTM".into(),
        shipped_on_board_date: None,
        goods: vec![GoodsLine {
            description: "Electrical transformers".into(),
            hs_code: "850440".into(),
            packages: 10,
            gross_weight_kg: 12_000,
        }],
        equipment: vec![Equipment {
            container: container.to_string(),
            seals: vec![],
            shared: false,
        }],
        freight_term: FreightTerm::Prepaid,
        document_hash: Hash::of(reference.as_bytes()),
        replaces: None,
        dcsa: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo;
    use crate::rules::{apply_verified, BlockContext};
    use crate::state::{State, StateView};

    fn apply_all(state: &mut State, txs: &[Transaction], ctx: &BlockContext) {
        for tx in txs {
            let fx = apply_verified(&*state, tx, ctx)
                .unwrap_or_else(|e| panic!("{}: {e}", tx.body.payload.action()));
            state.apply(&fx.changes);
        }
    }

    #[test]
    fn every_transaction_applies_in_lane_order() {
        let (genesis, _, parts) = demo::testing(4);
        let port = &parts[0].1;
        let w = Workload::new(&genesis, "t1", 6, 7).expect("workload");
        assert_eq!(w.lanes.len(), 3);
        let mut state = State::from_genesis(&genesis);
        let ctx = BlockContext {
            height: 1,
            time_ms: genesis.genesis_time_ms + 1000,
        };
        apply_all(&mut state, &w.registrations(port, 1), &ctx);
        let lanes = w.lane_transactions(25);
        assert!(lanes.iter().all(|l| l.len() == 12));
        // Interleave the lanes the way a load generator would.
        let all: Vec<Transaction> = (0..12)
            .flat_map(|k| lanes.iter().map(move |l| l[k].clone()))
            .collect();
        apply_all(&mut state, &all, &ctx);
        let carrier = w.lanes[1].carrier.key.public();
        assert_eq!(state.nonce(&carrier), 6);
        // Deterministic but for the sealed bodies: the same inputs give the same signers,
        // nonces, actions and documents.
        let shape = |lanes: &[Vec<Transaction>]| -> Vec<_> {
            lanes
                .iter()
                .flatten()
                .map(|t| {
                    let b = &t.body;
                    (b.signer, b.nonce, b.payload.action(), b.payload.mentions())
                })
                .collect()
        };
        let again = Workload::new(&genesis, "t1", 6, 7).expect("workload");
        assert_eq!(shape(&again.lane_transactions(25)), shape(&lanes));
        // Every eBL is sealed: the shipper and the auditor open it, the next holder once shared.
        let first = state.transport_documents.values().next().expect("an eBL");
        let auditor = genesis.customs_auditor.expect("demo auditor");
        assert!(first.wrapped_for(&auditor));
        assert!(first.readers().iter().all(|r| {
            state
                .member(r)
                .is_some_and(|m| first.wrapped_for(&m.encryption_key))
        }));
        assert!(Workload::new(&genesis, "t1", 1, 7).is_err());
    }
}
