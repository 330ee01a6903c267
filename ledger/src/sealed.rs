//! Sealed terms: a document's confidential body travels and is stored encrypted under a key of
//! its own, with that key wrapped for each party that may read it. The one module that touches
//! the ciphers (ChaCha20-Poly1305, X25519, HKDF-SHA-256).
//!
//! - The body: `salt (32 random bytes) || canonical encoding of the terms`, encrypted with
//!   ChaCha20-Poly1305 under the document's [`TermsKey`] and a random 12-byte nonce, the
//!   commitment as associated data.
//! - The commitment: `SHA-256("portledger/v1/terms-commitment\0" || salt || encoding)`. It is
//!   public (in the record and in proofs); the salt is inside the ciphertext, so nobody without
//!   the key can confirm a guessed amount, and a key holder checks the plaintext against it.
//! - A key wrap (a sealed box): a fresh X25519 key pair per wrap; the key-encryption key is
//!   `HKDF-SHA-256(salt = ephemeral public || recipient public, ikm = the shared secret,
//!   info = "portledger/v1/key-wrap")`, used once, so the nonce is zero; the document key is
//!   encrypted with it (32 bytes and a 16-byte tag).
//! - A participant's X25519 key is derived from its signing key's seed
//!   (`HKDF-SHA-256(salt = "portledger/v1/x25519", ikm = seed, info = "participant encryption
//!   key")`), so one key file holds both; its public half is registered beside the signing key.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::ChaCha20Poly1305;
use hkdf::Hkdf;
use rand::RngCore;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::codec;
use crate::crypto::{fixed_bytes, Hash, Keypair};

fixed_bytes!(EncryptionKey, 32, "X25519 public key");
fixed_bytes!(SealNonce, 12, "ChaCha20-Poly1305 nonce");
fixed_bytes!(WrappedKey, 48, "wrapped document key");

/// The largest sealed body (ciphertext bytes) a rule accepts.
pub const MAX_SEALED_BYTES: usize = 64 * 1024;
/// The most key wraps one document carries.
pub const MAX_WRAPS: usize = 32;

const COMMITMENT_TAG: &[u8] = b"portledger/v1/terms-commitment\0";
const WRAP_INFO: &[u8] = b"portledger/v1/key-wrap";
const X25519_SALT: &[u8] = b"portledger/v1/x25519";
const SALT_BYTES: usize = 32;

/// Bytes shown in JSON as lowercase hex (a ciphertext).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Ciphertext(pub Vec<u8>);

impl std::fmt::Debug for Ciphertext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Ciphertext({} bytes)", self.0.len())
    }
}

impl Serialize for Ciphertext {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.serialize_str(&hex::encode(&self.0))
        } else {
            s.serialize_bytes(&self.0)
        }
    }
}

impl<'de> Deserialize<'de> for Ciphertext {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            let s = String::deserialize(d)?;
            hex::decode(s.trim())
                .map(Ciphertext)
                .map_err(|_| serde::de::Error::custom("ciphertext must be hex"))
        } else {
            Vec::<u8>::deserialize(d).map(Ciphertext)
        }
    }
}

/// A document's confidential body, encrypted, with its public commitment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sealed {
    /// SHA-256 over the salt and the plaintext (see the module documentation).
    pub commitment: Hash,
    /// The nonce it was encrypted with.
    pub nonce: SealNonce,
    /// The salt and the plaintext, encrypted, with the authentication tag.
    pub ciphertext: Ciphertext,
}

/// A document key wrapped for one recipient's X25519 key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyWrap {
    /// The recipient's registered X25519 key.
    pub recipient: EncryptionKey,
    /// The sender's one-time X25519 public key.
    pub ephemeral: EncryptionKey,
    /// The document key, encrypted under the derived key-encryption key.
    pub wrapped: WrappedKey,
}

/// A document's own symmetric key. Never on the ledger in the clear.
#[derive(Clone, PartialEq, Eq)]
pub struct TermsKey([u8; 32]);

impl std::fmt::Debug for TermsKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TermsKey(..)")
    }
}

/// A participant's X25519 secret, for unwrapping document keys.
pub struct DecryptionKey(x25519_dalek::StaticSecret);

/// Why a sealed body or a key wrap does not open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// No wrap names this reader's key.
    #[error("the document key is not wrapped for this key")]
    NotARecipient,
    /// The wrap or the body does not decrypt (another key, or altered bytes).
    #[error("{0} does not decrypt")]
    Decrypt(&'static str),
    /// The plaintext does not match the public commitment.
    #[error("the plaintext does not match the commitment")]
    Commitment,
    /// The plaintext is not the expected terms.
    #[error("the plaintext is not valid terms: {0}")]
    Decode(String),
    /// The opened document does not match its public header (or is malformed).
    #[error("the sealed body does not match the document's public record: {0}")]
    Mismatch(String),
    /// The recipient key is a low-order point (no shared secret).
    #[error("the recipient key is not a usable X25519 key")]
    WeakKey,
}

fn random<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b
}

fn commitment(salt: &[u8], plaintext: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update(COMMITMENT_TAG);
    h.update(salt);
    h.update(plaintext);
    Hash(h.finalize().into())
}

fn cipher(key: &[u8; 32]) -> ChaCha20Poly1305 {
    ChaCha20Poly1305::new(key.into())
}

impl TermsKey {
    /// A new random document key.
    pub fn generate() -> TermsKey {
        TermsKey(random())
    }

    /// Encrypts `terms` (their canonical encoding, salted) under this key.
    pub fn seal<T: Serialize>(&self, terms: &T) -> Sealed {
        let encoded = codec::encode(terms);
        let salt: [u8; SALT_BYTES] = random();
        let commitment = commitment(&salt, &encoded);
        let nonce: [u8; 12] = random();
        let mut plaintext = salt.to_vec();
        plaintext.extend_from_slice(&encoded);
        // Encryption with a valid key and nonce cannot fail for inputs this small.
        let ciphertext = cipher(&self.0)
            .encrypt(
                (&nonce).into(),
                Payload {
                    msg: &plaintext,
                    aad: commitment.as_bytes(),
                },
            )
            .unwrap_or_default();
        Sealed {
            commitment,
            nonce: SealNonce(nonce),
            ciphertext: Ciphertext(ciphertext),
        }
    }

    /// Decrypts `sealed`, checks the plaintext against its commitment and decodes it.
    pub fn open<T: DeserializeOwned>(&self, sealed: &Sealed) -> Result<T, SealError> {
        let plaintext = cipher(&self.0)
            .decrypt(
                sealed.nonce.as_bytes().into(),
                Payload {
                    msg: &sealed.ciphertext.0,
                    aad: sealed.commitment.as_bytes(),
                },
            )
            .map_err(|_| SealError::Decrypt("the sealed body"))?;
        if plaintext.len() < SALT_BYTES {
            return Err(SealError::Commitment);
        }
        let (salt, encoded) = plaintext.split_at(SALT_BYTES);
        if commitment(salt, encoded) != sealed.commitment {
            return Err(SealError::Commitment);
        }
        codec::decode(encoded, MAX_SEALED_BYTES).map_err(|e| SealError::Decode(e.to_string()))
    }

    /// Wraps this key for `recipient` (a sealed box: only the holder of its secret opens it).
    /// Refused for a low-order key, for which the wrap would be open to anyone.
    pub fn wrap_for(&self, recipient: &EncryptionKey) -> Result<KeyWrap, SealError> {
        let ephemeral = x25519_dalek::StaticSecret::from(random::<32>());
        let ephemeral_public = EncryptionKey(x25519_dalek::PublicKey::from(&ephemeral).to_bytes());
        let shared = ephemeral.diffie_hellman(&x25519_dalek::PublicKey::from(recipient.0));
        if !shared.was_contributory() {
            return Err(SealError::WeakKey);
        }
        let kek = key_encryption_key(shared.as_bytes(), &ephemeral_public, recipient);
        let wrapped = cipher(&kek)
            .encrypt((&[0u8; 12]).into(), self.0.as_slice())
            .unwrap_or_default();
        let mut w = [0u8; 48];
        if wrapped.len() == 48 {
            w.copy_from_slice(&wrapped);
        }
        Ok(KeyWrap {
            recipient: *recipient,
            ephemeral: ephemeral_public,
            wrapped: WrappedKey(w),
        })
    }

    /// Wraps this key for each of `recipients` (once per distinct key).
    pub fn wrap_for_all(&self, recipients: &[EncryptionKey]) -> Result<Vec<KeyWrap>, SealError> {
        let mut seen = Vec::new();
        let mut wraps = Vec::new();
        for r in recipients {
            if !seen.contains(r) {
                seen.push(*r);
                wraps.push(self.wrap_for(r)?);
            }
        }
        Ok(wraps)
    }
}

/// Seals `terms` under a new document key and wraps the key for each of `recipients`.
pub fn seal_for<T: Serialize>(
    terms: &T,
    recipients: &[EncryptionKey],
) -> Result<(TermsKey, Sealed, Vec<KeyWrap>), SealError> {
    let key = TermsKey::generate();
    let sealed = key.seal(terms);
    let wraps = key.wrap_for_all(recipients)?;
    Ok((key, sealed, wraps))
}

fn key_encryption_key(
    shared: &[u8; 32],
    ephemeral: &EncryptionKey,
    recipient: &EncryptionKey,
) -> [u8; 32] {
    let mut salt = [0u8; 64];
    salt[..32].copy_from_slice(&ephemeral.0);
    salt[32..].copy_from_slice(&recipient.0);
    let mut okm = [0u8; 32];
    // 32 bytes is far below HKDF-SHA-256's limit: expand cannot fail.
    let _ = Hkdf::<Sha256>::new(Some(&salt), shared).expand(WRAP_INFO, &mut okm);
    okm
}

impl DecryptionKey {
    /// The participant's X25519 secret, derived from its signing key.
    pub fn of(key: &Keypair) -> DecryptionKey {
        let mut okm = [0u8; 32];
        let _ = Hkdf::<Sha256>::new(Some(X25519_SALT), &key.seed())
            .expand(b"participant encryption key", &mut okm);
        DecryptionKey(x25519_dalek::StaticSecret::from(okm))
    }

    /// Its public half, registered beside the signing key.
    pub fn public(&self) -> EncryptionKey {
        EncryptionKey(x25519_dalek::PublicKey::from(&self.0).to_bytes())
    }

    /// Opens a wrap made for this key.
    pub fn unwrap(&self, w: &KeyWrap) -> Result<TermsKey, SealError> {
        if w.recipient != self.public() {
            return Err(SealError::NotARecipient);
        }
        let shared = self
            .0
            .diffie_hellman(&x25519_dalek::PublicKey::from(w.ephemeral.0));
        if !shared.was_contributory() {
            return Err(SealError::WeakKey);
        }
        let kek = key_encryption_key(shared.as_bytes(), &w.ephemeral, &w.recipient);
        let key = cipher(&kek)
            .decrypt((&[0u8; 12]).into(), w.wrapped.as_bytes().as_slice())
            .map_err(|_| SealError::Decrypt("the key wrap"))?;
        let key: [u8; 32] = key
            .try_into()
            .map_err(|_| SealError::Decrypt("the key wrap"))?;
        Ok(TermsKey(key))
    }

    /// Opens the wrap among `wraps` made for this key.
    pub fn unwrap_any(&self, wraps: &[KeyWrap]) -> Result<TermsKey, SealError> {
        let me = self.public();
        wraps
            .iter()
            .find(|w| w.recipient == me)
            .ok_or(SealError::NotARecipient)
            .and_then(|w| self.unwrap(w))
    }
}

impl Keypair {
    /// This participant's X25519 public key (derived from the signing key; see [`crate::sealed`]).
    pub fn encryption_key(&self) -> EncryptionKey {
        DecryptionKey::of(self).public()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Terms {
        amount_minor: u64,
        goods: String,
    }

    fn terms() -> Terms {
        Terms {
            amount_minor: 12_500_000,
            goods: "leather shoes".into(),
        }
    }

    #[test]
    fn a_recipient_opens_what_was_sealed_and_wrapped_for_it() {
        let buyer = Keypair::for_testing("buyer");
        let bank = Keypair::for_testing("bank");
        let key = TermsKey::generate();
        let sealed = key.seal(&terms());
        let wraps = vec![
            key.wrap_for(&buyer.encryption_key()).unwrap(),
            key.wrap_for(&bank.encryption_key()).unwrap(),
        ];
        for who in [&buyer, &bank] {
            let k = DecryptionKey::of(who).unwrap_any(&wraps).unwrap();
            assert_eq!(k.open::<Terms>(&sealed).unwrap(), terms());
        }
        let stranger = DecryptionKey::of(&Keypair::for_testing("stranger"));
        assert_eq!(
            stranger.unwrap_any(&wraps).unwrap_err(),
            SealError::NotARecipient
        );
        // A wrap re-addressed to the stranger still does not open for it.
        let mut forged = wraps[0].clone();
        forged.recipient = stranger.public();
        assert!(stranger.unwrap(&forged).is_err());
    }

    #[test]
    fn the_ciphertext_hides_the_terms_and_any_change_is_refused() {
        let key = TermsKey::generate();
        let a = key.seal(&terms());
        let b = key.seal(&terms());
        // Salted and freshly nonced: the same terms seal differently every time.
        assert_ne!(a.commitment, b.commitment);
        assert_ne!(a.ciphertext, b.ciphertext);
        let needle = b"leather shoes";
        assert!(!a.ciphertext.0.windows(needle.len()).any(|w| w == needle));
        let mut flipped = a.clone();
        flipped.ciphertext.0[40] ^= 1;
        assert!(matches!(
            key.open::<Terms>(&flipped),
            Err(SealError::Decrypt(_))
        ));
        let mut other_commitment = a.clone();
        other_commitment.commitment = b.commitment;
        assert!(key.open::<Terms>(&other_commitment).is_err());
        assert!(TermsKey::generate().open::<Terms>(&a).is_err());
        let mut bad_wrap = key
            .wrap_for(&Keypair::for_testing("x").encryption_key())
            .unwrap();
        bad_wrap.wrapped.0[0] ^= 1;
        assert!(DecryptionKey::of(&Keypair::for_testing("x"))
            .unwrap(&bad_wrap)
            .is_err());
    }

    #[test]
    fn sealed_values_round_trip_through_json_and_the_codec() {
        let key = TermsKey::generate();
        let sealed = key.seal(&terms());
        let w = key
            .wrap_for(&Keypair::for_testing("a").encryption_key())
            .unwrap();
        let json = serde_json::to_string(&(sealed.clone(), w.clone())).unwrap();
        let back: (Sealed, KeyWrap) = serde_json::from_str(&json).unwrap();
        assert_eq!(back, (sealed.clone(), w.clone()));
        let bytes = codec::encode(&(sealed.clone(), w.clone()));
        let back: (Sealed, KeyWrap) = codec::decode(&bytes, 1 << 20).unwrap();
        assert_eq!(back, (sealed, w));
    }

    #[test]
    fn a_low_order_recipient_key_is_refused() {
        let key = TermsKey::generate();
        assert_eq!(
            key.wrap_for(&EncryptionKey([0; 32])).unwrap_err(),
            SealError::WeakKey
        );
    }

    #[test]
    fn the_encryption_key_is_stable_and_differs_per_participant() {
        let a = Keypair::for_testing("a");
        assert_eq!(a.encryption_key(), a.encryption_key());
        assert_ne!(
            a.encryption_key(),
            Keypair::for_testing("b").encryption_key()
        );
        assert_ne!(a.encryption_key().0, a.public().0);
    }
}
