//! Anchored commercial documents: `doc anchor` records a file's SHA-256 on the ledger, `doc
//! verify` checks a file against it (exit 1 when not anchored or revoked), `doc revoke` lets the
//! issuer withdraw it.

use std::path::PathBuf;

use clap::Subcommand;
use portledger_client::error::ClientError;
use portledger_client::output;
use portledger_ledger::documents::anchor::DocumentType;
use portledger_ledger::{Hash, Payload};
use serde_json::{json, Value};

use super::context::{parse_hash, read_file, Ctx};

/// The `doc` subcommands.
#[derive(Subcommand)]
pub enum Doc {
    /// Anchors FILE's SHA-256.
    Anchor {
        /// The file.
        file: PathBuf,
        /// commercial_invoice, packing_list, certificate_of_origin, inspection_certificate,
        /// insurance_certificate or other.
        #[arg(long = "type", value_parser = parse_doc_type)]
        doc_type: DocumentType,
        /// Related transport document or credit (repeat).
        #[arg(long = "ref")]
        refs: Vec<String>,
    },
    /// Is FILE anchored, by whom, when, still valid? Exit 1 when not anchored or revoked.
    Verify {
        /// The file.
        file: PathBuf,
    },
    /// The issuer revokes an anchored document.
    Revoke {
        /// SHA-256 hex.
        hash: String,
        /// The document that supersedes it.
        #[arg(long)]
        superseded_by: Option<String>,
    },
}

/// A `--type` argument: one of the anchored document types.
pub fn parse_doc_type(s: &str) -> Result<DocumentType, String> {
    serde_json::from_value(Value::String(s.to_string())).map_err(|_| {
        "expected commercial_invoice, packing_list, certificate_of_origin, \
         inspection_certificate, insurance_certificate or other"
            .to_string()
    })
}

/// Runs a `doc` command.
pub async fn run(ctx: &Ctx, cmd: Doc) -> anyhow::Result<()> {
    match cmd {
        Doc::Anchor {
            file,
            doc_type,
            refs,
        } => {
            let hash = Hash::of(&read_file(&file)?);
            ctx.submit(
                Payload::AnchorDocument {
                    hash,
                    doc_type,
                    references: refs,
                },
                json!({"hash": hash}),
            )
            .await
        }
        Doc::Verify { file } => {
            let hash = Hash::of(&read_file(&file)?);
            match ctx.node.get(&format!("/v1/documents/{hash}")).await {
                Ok(v) => {
                    if ctx.json {
                        println!("{}", json!({"anchored": true, "document": v}));
                    } else {
                        print!("{}", output::anchored(&v));
                    }
                    if v["revoked"] == Value::Bool(true) {
                        return Err(ClientError::Refused {
                            status: 200,
                            code: "revoked".into(),
                            message: format!(
                                "{} ({hash}) was revoked by its issuer",
                                file.display()
                            ),
                            fields: serde_json::Value::Null,
                        }
                        .into());
                    }
                    Ok(())
                }
                Err(ClientError::Refused { status: 404, .. }) => {
                    if ctx.json {
                        println!("{}", json!({"anchored": false, "hash": hash}));
                    }
                    Err(ClientError::Refused {
                        status: 404,
                        code: "not_anchored".into(),
                        message: format!(
                            "{} ({hash}) is not anchored on the ledger",
                            file.display()
                        ),
                        fields: serde_json::Value::Null,
                    }
                    .into())
                }
                Err(e) => Err(e.into()),
            }
        }
        Doc::Revoke {
            hash,
            superseded_by,
        } => {
            let hash = parse_hash(&hash)?;
            let superseded_by = superseded_by.map(|h| parse_hash(&h)).transpose()?;
            ctx.submit(
                Payload::RevokeDocument {
                    hash,
                    superseded_by,
                },
                json!({}),
            )
            .await
        }
    }
}
