//! Shipment tracking events (DCSA Track & Trace equipment events): facts recorded by the party
//! that saw them, linked to a transport document and one of its containers.
//!
//! The plausible order for one (transport document, container), checked by
//! [`next_stage_allowed`]:
//!
//! ```text
//! GTIN(POL) -> LOAD(POL) -> DEPA(POL) -> [ARRI(X) -> DEPA(X)]* -> ARRI(POD) -> DISC(POD) -> GTOT(POD)
//! ```
//!
//! POL and POD are the transport document's port of loading and port of discharge. The vessel
//! may call at intermediate ports X (any port but the one it just left) on the way: an ARRI
//! at X is followed by a DEPA from X. Transhipment (discharging and reloading the container at an
//! intermediate port) is not recorded in this version. Each container's events are in time
//! order. GTOT is recorded only by the port's cargo release.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::crypto::{Hash, PublicKey};

/// A DCSA equipment event code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum TrackingCode {
    /// Gate in at the terminal of the port of loading.
    #[serde(rename = "GTIN")]
    GateIn,
    /// Loaded on the vessel at the port of loading.
    #[serde(rename = "LOAD")]
    Load,
    /// The vessel departed.
    #[serde(rename = "DEPA")]
    Depart,
    /// The vessel arrived.
    #[serde(rename = "ARRI")]
    Arrive,
    /// Discharged from the vessel at the port of discharge.
    #[serde(rename = "DISC")]
    Discharge,
    /// Gate out of the terminal at the port of discharge: recorded only by port release.
    #[serde(rename = "GTOT")]
    GateOut,
}

impl TrackingCode {
    /// Every code, in journey order.
    pub const ALL: [TrackingCode; 6] = [
        TrackingCode::GateIn,
        TrackingCode::Load,
        TrackingCode::Depart,
        TrackingCode::Arrive,
        TrackingCode::Discharge,
        TrackingCode::GateOut,
    ];

    /// The DCSA code (`GTIN`, `LOAD`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::GateIn => "GTIN",
            Self::Load => "LOAD",
            Self::Depart => "DEPA",
            Self::Arrive => "ARRI",
            Self::Discharge => "DISC",
            Self::GateOut => "GTOT",
        }
    }

    /// What it means, in words.
    pub fn describe(self) -> &'static str {
        match self {
            Self::GateIn => "gate in at the terminal",
            Self::Load => "loaded on the vessel",
            Self::Depart => "vessel departed",
            Self::Arrive => "vessel arrived",
            Self::Discharge => "discharged from the vessel",
            Self::GateOut => "gate out of the terminal",
        }
    }
}

impl fmt::Display for TrackingCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TrackingCode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TrackingCode::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                format!("unknown tracking event code {s:?} (GTIN, LOAD, DEPA, ARRI, DISC, GTOT)")
            })
    }
}

/// One tracking event as recorded: what happened to which container of which document, where
/// and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackingEvent {
    /// The transport document reference.
    pub reference: String,
    /// The container (ISO 6346).
    pub container: String,
    /// What happened.
    pub code: TrackingCode,
    /// Where (UN/LOCODE).
    pub location: String,
    /// When it happened, milliseconds since the Unix epoch (never after the block time).
    pub event_time_ms: u64,
}

/// Where one container of one transport document is: its latest event. Part of the state, read
/// by the order rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerPosition {
    /// The latest event's code.
    pub code: TrackingCode,
    /// Its location.
    pub location: String,
    /// Its event time (ms).
    pub event_time_ms: u64,
}

/// A committed tracking event with where it is on the chain: what the container and document
/// indexes hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackingRecord {
    /// The event.
    pub event: TrackingEvent,
    /// Block height.
    pub height: u64,
    /// Block time (ms).
    pub time_ms: u64,
    /// Position of the transaction in its block.
    pub index: u32,
    /// Transaction hash.
    pub tx_hash: Hash,
    /// Who signed the transaction that recorded it.
    pub signer: PublicKey,
}

/// Checks that `code` at `location` may follow `previous` (the container's latest event, if any)
/// on a document from `pol` to `pod`; the error says what was expected.
pub fn next_stage_allowed(
    previous: Option<&ContainerPosition>,
    code: TrackingCode,
    location: &str,
    pol: &str,
    pod: &str,
) -> Result<(), String> {
    use TrackingCode as C;
    let prev = previous.map(|p| (p.code, p.location.as_str()));
    let at = |port: &str, name: &str| {
        if location == port {
            Ok(())
        } else {
            Err(format!(
                "{code} must be recorded at the {name} {port}, not at {location}"
            ))
        }
    };
    let after = |wanted: &str| match prev {
        None => Err(format!(
            "{code} must follow {wanted}, and no event has been recorded for this container yet"
        )),
        Some((c, l)) => Err(format!(
            "{code} must follow {wanted}; the latest event is {c} at {l}"
        )),
    };
    match (code, prev) {
        (C::GateIn, None) => at(pol, "port of loading"),
        (C::GateIn, Some(_)) => after("nothing (it is the first event)"),
        (C::Load, Some((C::GateIn, _))) => at(pol, "port of loading"),
        (C::Load, _) => after("GTIN at the port of loading"),
        (C::Depart, Some((C::Load, _))) => at(pol, "port of loading"),
        (C::Depart, Some((C::Arrive, l))) if l != pod => {
            at(l, "intermediate port the vessel arrived at")
        }
        (C::Depart, _) => after("LOAD, or ARRI at an intermediate port"),
        (C::Arrive, Some((C::Depart, l))) => {
            if location == l {
                Err(format!(
                    "ARRI must be at another port than the one departed ({l})"
                ))
            } else {
                Ok(())
            }
        }
        (C::Arrive, _) => after("DEPA"),
        (C::Discharge, Some((C::Arrive, l))) if l == pod => at(pod, "port of discharge"),
        (C::Discharge, _) => after("ARRI at the port of discharge"),
        (C::GateOut, Some((C::Discharge, _))) => at(pod, "port of discharge"),
        (C::GateOut, _) => after("DISC at the port of discharge"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(code: TrackingCode, location: &str) -> ContainerPosition {
        ContainerPosition {
            code,
            location: location.into(),
            event_time_ms: 0,
        }
    }

    #[test]
    fn the_journey_and_its_refusals() {
        use TrackingCode as C;
        let ok = |p: Option<ContainerPosition>, c, l| {
            next_stage_allowed(p.as_ref(), c, l, "CNSHA", "NLRTM").is_ok()
        };
        assert!(ok(None, C::GateIn, "CNSHA"));
        assert!(!ok(None, C::GateIn, "NLRTM"));
        assert!(!ok(None, C::Load, "CNSHA"));
        assert!(ok(Some(pos(C::GateIn, "CNSHA")), C::Load, "CNSHA"));
        assert!(ok(Some(pos(C::Load, "CNSHA")), C::Depart, "CNSHA"));
        assert!(ok(Some(pos(C::Depart, "CNSHA")), C::Arrive, "SGSIN"));
        assert!(!ok(Some(pos(C::Depart, "CNSHA")), C::Arrive, "CNSHA"));
        assert!(ok(Some(pos(C::Arrive, "SGSIN")), C::Depart, "SGSIN"));
        assert!(!ok(Some(pos(C::Arrive, "SGSIN")), C::Discharge, "SGSIN"));
        assert!(!ok(Some(pos(C::Arrive, "NLRTM")), C::Depart, "NLRTM"));
        assert!(ok(Some(pos(C::Arrive, "NLRTM")), C::Discharge, "NLRTM"));
        assert!(!ok(Some(pos(C::Depart, "CNSHA")), C::Discharge, "NLRTM"));
        assert!(ok(Some(pos(C::Discharge, "NLRTM")), C::GateOut, "NLRTM"));
        assert!(!ok(None, C::GateOut, "NLRTM"));
        assert!(!ok(Some(pos(C::Load, "CNSHA")), C::GateOut, "NLRTM"));
        assert!(!ok(Some(pos(C::GateOut, "NLRTM")), C::GateIn, "CNSHA"));
        assert_eq!("load".parse::<C>(), Ok(C::Load));
        assert!("XXXX".parse::<C>().is_err());
    }
}
