//! `portledger case REF`: everything about one transport document, the summary first ("released
//! to X at T", or the release conditions not yet met), then the detail; `customs queue` and
//! `bl declarations` read the declarations side.

use portledger_client::api::encode_segment;
use portledger_client::{case, reveal};

use super::context::Ctx;

/// Prints the case of a transport document.
pub async fn show(ctx: &Ctx, reference: &str) -> anyhow::Result<()> {
    ctx.show_revealed(
        &format!("/v1/bl/{}/case", encode_segment(reference)),
        reveal::case_document,
        case::case,
    )
    .await
}

/// Prints the declarations waiting for customs, the longest waiting first.
pub async fn queue(ctx: &Ctx) -> anyhow::Result<()> {
    ctx.show("/v1/customs/queue", case::queue).await
}

/// Prints the customs declarations naming a transport document.
pub async fn declarations(ctx: &Ctx, reference: &str) -> anyhow::Result<()> {
    ctx.show(
        &format!("/v1/bl/{}/declarations", encode_segment(reference)),
        case::declarations,
    )
    .await
}
