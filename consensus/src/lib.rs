//! Round-robin BFT consensus (the Tendermint algorithm) as a pure state machine, with a seeded
//! simulation harness.
//!
//! The [`Core`] takes [`Input`]s (messages, timeouts, the host's answers) and returns
//! [`Action`]s (persist, broadcast, schedule a timeout, validate, commit) for the host to
//! execute in order. It holds no clock, socket, thread or disk. The `sim` feature adds a
//! deterministic simulation harness ([`sim`]) that drives many cores over a faulty network.
#![forbid(unsafe_code)]

pub mod action;
pub mod buffer;
pub mod config;
pub mod core;
pub mod engine;
pub mod input;
pub mod proposal;
pub mod schedule;
pub mod timeout;
pub mod votes;
pub mod wal;

#[cfg(feature = "sim")]
pub mod sim;

pub use crate::action::{Action, Equivocation, ProposalEquivocation};
pub use crate::config::ConsensusConfig;
pub use crate::core::{Core, Step, ValueRound};
pub use crate::engine::{Effect, Engine, EnginePolicy, Event, Message};
pub use crate::input::Input;
pub use crate::proposal::{Proposal, SignedProposal};
pub use crate::schedule::ValidatorSchedule;
pub use crate::timeout::{Timeout, TimeoutSchedule, TimeoutStep};
pub use crate::wal::{WalRecord, WalStore};
