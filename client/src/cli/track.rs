//! Shipment tracking: `track event` records what a party saw happen to a container, `track
//! show` prints a document's or a container's journey, `track follow` prints new events as they
//! are committed.

use clap::Subcommand;
use portledger_client::api::encode_segment;
use portledger_client::tracking;
use portledger_ledger::documents::tracking::TrackingCode;
use portledger_ledger::Payload;
use serde_json::json;

use super::context::{input_err, Ctx};

/// The `track` subcommands.
#[derive(Subcommand)]
pub enum Track {
    /// Records a tracking event you saw: GTIN (port operator), LOAD (port operator or carrier),
    /// DEPA / ARRI (carrier), DISC (port operator or carrier). GTOT comes only from `port
    /// release`.
    Event {
        /// Transport document reference.
        reference: String,
        /// The container (ISO 6346), listed on the document.
        #[arg(long)]
        container: String,
        /// GTIN, LOAD, DEPA, ARRI or DISC.
        #[arg(long)]
        code: TrackingCode,
        /// Where it happened (UN/LOCODE).
        #[arg(long = "at")]
        location: String,
        /// When it happened: ISO 8601 date-time (UTC unless an offset is given) or date;
        /// default now. Never later than the block that records it.
        #[arg(long)]
        time: Option<String>,
    },
    /// Where the goods are: a document's containers (BLREF) or one container (--container):
    /// the current position, then every event.
    Show {
        /// Transport document reference.
        reference: Option<String>,
        /// A container (ISO 6346), over all documents.
        #[arg(long)]
        container: Option<String>,
    },
    /// Prints each new tracking event of a document (or one of its containers) as it is
    /// committed, until interrupted; one JSON object per line with --json.
    Follow {
        /// Transport document reference.
        reference: String,
        /// Only this container.
        #[arg(long)]
        container: Option<String>,
        /// Stop after this many events.
        #[arg(long)]
        count: Option<u64>,
    },
}

/// Runs a `track` command.
pub async fn run(ctx: &Ctx, cmd: Track) -> anyhow::Result<()> {
    match cmd {
        Track::Event {
            reference,
            container,
            code,
            location,
            time,
        } => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64);
            let event_time_ms = tracking::event_time_ms(time.as_deref(), now).map_err(input_err)?;
            ctx.submit(
                Payload::RecordTrackingEvent {
                    reference,
                    container,
                    code,
                    location,
                    event_time_ms,
                },
                json!({}),
            )
            .await
        }
        Track::Show {
            reference,
            container,
        } => {
            let path = match (reference, container) {
                (Some(r), None) => format!("/v1/bl/{}/tracking", encode_segment(&r)),
                (None, Some(c)) => format!("/v1/containers/{}", encode_segment(&c)),
                _ => {
                    return Err(input_err(
                        "give a transport document BLREF or --container ID",
                    ))
                }
            };
            ctx.show(&path, tracking::timeline).await
        }
        Track::Follow {
            reference,
            container,
            count,
        } => {
            let mut filters = vec![("reference", reference.as_str())];
            if let Some(c) = &container {
                filters.push(("container", c.as_str()));
            }
            let mut seen = 0u64;
            let json_lines = ctx.json;
            ctx.node
                .follow_events_where(
                    &filters,
                    || eprintln!("following tracking events of {reference} (Ctrl-C to stop)"),
                    |committed| {
                        for e in tracking::followed_events(&committed, container.as_deref()) {
                            if json_lines {
                                println!("{e}");
                            } else {
                                println!("{}", tracking::follow_line(&e));
                            }
                            seen += 1;
                        }
                        count.is_none_or(|c| seen < c)
                    },
                )
                .await?;
            Ok(())
        }
    }
}
