//! Anchoring and revoking commercial documents (domain.md, "Commercial documents").

use crate::documents::anchor::AnchoredDocument;
use crate::documents::check_reference;
use crate::error::RuleError;
use crate::rules::Tx;
use crate::state::StateView;
use crate::transaction::Payload;

pub(super) fn apply<V: StateView>(t: &mut Tx<'_, V>, p: &Payload) -> Result<(), RuleError> {
    match p {
        Payload::AnchorDocument {
            hash,
            doc_type,
            references,
        } => {
            if t.view.anchor(hash).is_some() {
                return Err(RuleError::AlreadyExists {
                    kind: "anchored document",
                    reference: hash.to_hex(),
                });
            }
            if references.len() > 20 {
                return Err(RuleError::InvalidField {
                    field: "references",
                    reason: "at most 20 references".into(),
                });
            }
            for r in references {
                check_reference("references", r, 35)?;
            }
            t.put_anchor(AnchoredDocument {
                hash: *hash,
                doc_type: *doc_type,
                issuer: t.signer,
                issuer_role: t.member.role,
                references: references.clone(),
                anchored_height: t.ctx.height,
                anchored_time_ms: t.ctx.time_ms,
                revoked: false,
                superseded_by: None,
            });
        }
        Payload::RevokeDocument {
            hash,
            superseded_by,
        } => {
            let mut a = t.view.anchor(hash).ok_or_else(|| RuleError::NotFound {
                kind: "anchored document",
                reference: hash.to_hex(),
            })?;
            t.require_party(&a.issuer, "the issuer of the anchored document")?;
            if a.revoked {
                return Err(RuleError::DocumentRevoked(format!(
                    "anchored document {hash} is already revoked"
                )));
            }
            if let Some(new) = superseded_by {
                let replacement = t.view.anchor(new).ok_or_else(|| RuleError::NotFound {
                    kind: "superseding anchored document",
                    reference: new.to_hex(),
                })?;
                if replacement.issuer != t.signer {
                    return Err(RuleError::NotOwnDocument(
                        "a document may only be superseded by one its issuer anchored".into(),
                    ));
                }
            }
            a.revoked = true;
            a.superseded_by = *superseded_by;
            t.put_anchor(a);
        }
        _ => unreachable!("dispatched only anchor payloads"),
    }
    Ok(())
}
