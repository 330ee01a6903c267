//! Shipment tracking events and the export side (domain.md, "Shipment tracking events" and "The
//! export side").
//!
//! - Who records: GTIN the port operator; LOAD the port operator or the carrier; DEPA and ARRI the
//!   carrier; DISC the port operator or the carrier. GTOT is never recorded directly: the port's
//!   cargo release records it for each container released ([`record_gate_out`]).
//! - What: a container (ISO 6346) listed on an issued transport document (not DRAFT, APPROVED or
//!   VOIDED), at a UN/LOCODE, at a time no later than the block time.
//! - Order: per (document, container), the journey of [`next_stage_allowed`], in time order.
//! - Export: LOAD needs an EXPORT declaration for the document that customs has RELEASED (or whose
//!   exit another container's LOAD already confirmed); a document with no export declaration is
//!   not loaded. LOAD moves every RELEASED export declaration of the document to EXIT_CONFIRMED.

use crate::date::format_ms;
use crate::documents::customs::{DeclarationState, Direction};
use crate::documents::tracking::{
    next_stage_allowed, ContainerPosition, TrackingCode, TrackingEvent,
};
use crate::documents::transport::TransportDocument;
use crate::documents::{check_container, check_locode};
use crate::error::RuleError;
use crate::genesis::Role;
use crate::rules::Tx;
use crate::state::{DocumentKey, StateView};
use crate::transaction::Payload;

pub(super) fn apply<V: StateView>(t: &mut Tx<'_, V>, p: &Payload) -> Result<(), RuleError> {
    let Payload::RecordTrackingEvent {
        reference,
        container,
        code,
        location,
        event_time_ms,
    } = p
    else {
        unreachable!("dispatched only tracking payloads")
    };
    require_recorder(t, *code)?;
    check_container("container", container)?;
    check_locode("location", location)?;
    if *event_time_ms > t.ctx.time_ms {
        return Err(RuleError::EventInFuture {
            event_time: format_ms(*event_time_ms),
            block_time: format_ms(t.ctx.time_ms),
        });
    }
    let doc = t.document_in_force(reference)?;
    if !doc.data.has_container(container) {
        return Err(RuleError::UnknownContainer {
            container: container.clone(),
            reference: reference.clone(),
        });
    }
    let event = TrackingEvent {
        reference: reference.clone(),
        container: container.clone(),
        code: *code,
        location: location.clone(),
        event_time_ms: *event_time_ms,
    };
    check_order(t, &doc, &event)?;
    if *code == TrackingCode::Load {
        confirm_exit(t, reference)?;
    }
    put_event(t, event);
    Ok(())
}

/// The roles that may record each code.
fn require_recorder<V: StateView>(t: &Tx<'_, V>, code: TrackingCode) -> Result<(), RuleError> {
    let (allowed, needed): (&[Role], &'static str) = match code {
        TrackingCode::GateIn => (&[Role::PortOperator], "port_operator"),
        TrackingCode::Load | TrackingCode::Discharge => (
            &[Role::PortOperator, Role::Carrier],
            "port_operator or carrier",
        ),
        TrackingCode::Depart | TrackingCode::Arrive => (&[Role::Carrier], "carrier"),
        TrackingCode::GateOut => {
            return Err(RuleError::GateOutByRelease(format!(
            "{}: GTOT is recorded only by the port's cargo release (port.release), never directly",
            t.action
        )))
        }
    };
    if allowed.contains(&t.member.role) {
        Ok(())
    } else {
        Err(RuleError::RoleNotPermitted {
            action: t.action,
            needed,
            role: t.member.role.as_str(),
        })
    }
}

/// The plausible order, and time order, for the event's (document, container).
fn check_order<V: StateView>(
    t: &Tx<'_, V>,
    doc: &TransportDocument,
    e: &TrackingEvent,
) -> Result<(), RuleError> {
    let previous = t.view.container_position(&e.reference, &e.container);
    next_stage_allowed(
        previous.as_ref(),
        e.code,
        &e.location,
        &doc.data.port_of_loading,
        &doc.data.port_of_discharge,
    )
    .map_err(|why| {
        RuleError::TrackingOutOfOrder(format!(
            "container {} of {}: {why}",
            e.container, e.reference
        ))
    })?;
    if let Some(p) = previous {
        if e.event_time_ms < p.event_time_ms {
            return Err(RuleError::TrackingOutOfOrder(format!(
                "container {} of {}: {} at {} is dated before the latest event {} at {}",
                e.container,
                e.reference,
                e.code,
                format_ms(e.event_time_ms),
                p.code,
                format_ms(p.event_time_ms)
            )));
        }
    }
    Ok(())
}

/// The export rule at LOAD: an export declaration must be released; loading confirms exit.
fn confirm_exit<V: StateView>(t: &mut Tx<'_, V>, reference: &str) -> Result<(), RuleError> {
    let exports: Vec<_> = t
        .view
        .declarations_for(reference)
        .into_iter()
        .filter(|d| d.data.direction == Direction::Export)
        .collect();
    if exports.is_empty() {
        return Err(RuleError::ExportNotReleased(format!(
            "no export declaration names {reference}; customs must release one before the container is loaded"
        )));
    }
    let cleared = exports.iter().any(|d| {
        matches!(
            d.state,
            DeclarationState::Released | DeclarationState::ExitConfirmed
        )
    });
    if !cleared {
        let states: Vec<String> = exports
            .iter()
            .map(|d| format!("{} is {}", d.data.number, d.state))
            .collect();
        return Err(RuleError::ExportNotReleased(format!(
            "the export declaration for {reference} must be RELEASED by customs before loading ({})",
            states.join(", ")
        )));
    }
    for mut d in exports {
        if d.state == DeclarationState::Released {
            d.state = DeclarationState::ExitConfirmed;
            t.involve([d.declarant]);
            t.put_declaration(d);
        }
    }
    Ok(())
}

fn put_event<V: StateView>(t: &mut Tx<'_, V>, e: TrackingEvent) {
    t.touch(DocumentKey::TransportDocument(e.reference.clone()));
    t.fx.changes.positions.insert(
        (e.reference.clone(), e.container.clone()),
        ContainerPosition {
            code: e.code,
            location: e.location.clone(),
            event_time_ms: e.event_time_ms,
        },
    );
    t.fx.tracking.push(e);
}

/// The port's cargo release gates containers out: a GTOT at the port of discharge, at the block
/// time, for each. The release rule has already required each to be discharged (DISC) there;
/// the journey order is checked once more here.
pub(super) fn record_gate_out<V: StateView>(
    t: &mut Tx<'_, V>,
    doc: &TransportDocument,
    containers: &[String],
) -> Result<(), RuleError> {
    let reference = &doc.data.reference;
    let pod = &doc.data.port_of_discharge;
    for c in containers {
        let previous = t.view.container_position(reference, c);
        next_stage_allowed(
            previous.as_ref(),
            TrackingCode::GateOut,
            pod,
            &doc.data.port_of_loading,
            pod,
        )
        .map_err(|why| RuleError::ReleaseCondition {
            reference: reference.clone(),
            unmet: vec![format!(
                "container {c} of {reference} cannot gate out: {why}"
            )],
        })?;
        let event_time_ms = previous.map_or(t.ctx.time_ms, |p| p.event_time_ms.max(t.ctx.time_ms));
        put_event(
            t,
            TrackingEvent {
                reference: reference.clone(),
                container: c.clone(),
                code: TrackingCode::GateOut,
                location: pod.clone(),
                event_time_ms,
            },
        );
    }
    Ok(())
}
