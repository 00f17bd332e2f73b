//! Token verification and minting. Tokens are JWTs from the game's own auth service; this server
//! only checks them. Without a configured key, a secret is generated once and kept in the data
//! directory so that `guildhall token` and the server agree.

use std::path::Path;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::config::{Config, JwtAlg, Secret};
use crate::domain::room::is_valid_user_id;

/// Platform roles a token may carry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Roles {
    pub moderator: bool,
    pub admin: bool,
}

/// An authenticated user, built once per connection and shared by its frames.
#[derive(Clone, Debug)]
pub struct User {
    pub id: Arc<str>,
    pub name: Arc<str>,
    pub roles: Roles,
    /// The game says this player is a member of its community (subscribers, verified
    /// accounts): who may speak in a members-only room.
    pub member: bool,
    /// When the player's account was created (ms), if the game says: panic mode lets only
    /// accounts older than a configured age speak.
    pub created_at_ms: Option<u64>,
}

impl User {
    /// A platform moderator or admin (token roles).
    pub fn is_moderator(&self) -> bool {
        self.roles.moderator || self.roles.admin
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub exp: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// See [`User::member`].
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub member: bool,
    /// Account creation, Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("token rejected: {0}")]
    Invalid(#[from] jsonwebtoken::errors::Error),
    #[error("token subject must be 1-64 characters of [A-Za-z0-9_.-]")]
    BadSubject,
    #[error("this server verifies with a public key and cannot mint tokens")]
    CannotMint,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("reading {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("bad key: {0}")]
    Key(#[from] jsonwebtoken::errors::Error),
    #[error("jwt_alg {0:?} needs jwt_public_key_file")]
    MissingPublicKey(JwtAlg),
}

pub struct Authenticator {
    decoding: DecodingKey,
    encoding: Option<EncodingKey>,
    validation: Validation,
}

/// Longest display name kept from a token, in characters.
const MAX_NAME_CHARS: usize = 32;

impl Authenticator {
    pub fn from_config(config: &Config) -> Result<Self, KeyError> {
        match config.jwt_alg {
            JwtAlg::HS256 => {
                let secret = match &config.jwt_secret {
                    Some(secret) => secret.clone(),
                    None => load_or_create_secret(&config.data_dir)?,
                };
                Ok(Self::hs256(&secret))
            }
            alg @ (JwtAlg::RS256 | JwtAlg::EdDSA) => {
                let path = config
                    .jwt_public_key_file
                    .as_ref()
                    .ok_or(KeyError::MissingPublicKey(alg))?;
                let pem = std::fs::read(path).map_err(|source| KeyError::Io {
                    path: path.display().to_string(),
                    source,
                })?;
                let (decoding, algorithm) = match alg {
                    JwtAlg::RS256 => (DecodingKey::from_rsa_pem(&pem)?, Algorithm::RS256),
                    _ => (DecodingKey::from_ed_pem(&pem)?, Algorithm::EdDSA),
                };
                Ok(Self {
                    decoding,
                    encoding: None,
                    validation: validation(algorithm),
                })
            }
        }
    }

    pub fn hs256(secret: &Secret) -> Self {
        let bytes = secret.expose().as_bytes();
        Self {
            decoding: DecodingKey::from_secret(bytes),
            encoding: Some(EncodingKey::from_secret(bytes)),
            validation: validation(Algorithm::HS256),
        }
    }

    pub fn verify(&self, token: &str) -> Result<User, AuthError> {
        let claims =
            jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)?.claims;
        if !is_valid_user_id(&claims.sub) {
            return Err(AuthError::BadSubject);
        }
        let name: String = match claims.name.as_deref().map(str::trim) {
            Some(name) if !name.is_empty() => name.chars().take(MAX_NAME_CHARS).collect(),
            _ => claims.sub.clone(),
        };
        let roles = Roles {
            moderator: claims.roles.iter().any(|r| r == "moderator"),
            admin: claims.roles.iter().any(|r| r == "admin"),
        };
        Ok(User {
            id: claims.sub.into(),
            name: name.into(),
            roles,
            member: claims.member,
            created_at_ms: claims.created_at.map(|s| s.saturating_mul(1000)),
        })
    }

    /// Signs a token (HS256 only), valid for `ttl_secs`.
    pub fn mint(
        &self,
        sub: &str,
        name: Option<&str>,
        roles: &[String],
        ttl_secs: u64,
    ) -> Result<String, AuthError> {
        let claims = Claims {
            sub: sub.to_owned(),
            name: name.map(str::to_owned),
            exp: unix_now_secs() + ttl_secs,
            roles: roles.to_vec(),
            member: false,
            created_at: None,
        };
        self.mint_claims(&claims)
    }

    /// Signs the given claims (HS256 only); for tools and tests that need every claim.
    pub fn mint_claims(&self, claims: &Claims) -> Result<String, AuthError> {
        let key = self.encoding.as_ref().ok_or(AuthError::CannotMint)?;
        if !is_valid_user_id(&claims.sub) {
            return Err(AuthError::BadSubject);
        }
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            claims,
            key,
        )?)
    }
}

fn validation(alg: Algorithm) -> Validation {
    let mut v = Validation::new(alg);
    // Clocks of the game's auth service and this node may differ a little.
    v.leeway = 30;
    v.validate_aud = false;
    v.set_required_spec_claims(&["exp", "sub"]);
    v
}

pub fn unix_now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Name of the generated secret's file in the data directory.
pub const SECRET_FILE: &str = "jwt_secret";

/// Reads the secret generated by an earlier start, or makes one (256 random bits, hex).
pub fn load_or_create_secret(data_dir: &Path) -> Result<Secret, KeyError> {
    let path = data_dir.join(SECRET_FILE);
    let io = |source| KeyError::Io {
        path: path.display().to_string(),
        source,
    };
    match std::fs::read_to_string(&path) {
        Ok(s) if !s.trim().is_empty() => return Ok(Secret::new(s.trim())),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    std::fs::create_dir_all(data_dir).map_err(io)?;
    let bytes: [u8; 32] = rand::random();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    write_private(&path, &hex).map_err(io)?;
    tracing::warn!(
        path = %path.display(),
        "no JWT secret configured: generated one. Mint a token with `guildhall token <user-id>`; \
         set GUILDHALL_JWT_SECRET to share a secret with your game's auth service"
    );
    Ok(Secret::new(hex))
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(contents.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mint_and_verify_round_trip() {
        let auth = Authenticator::hs256(&Secret::new("s3cret"));
        let token = auth
            .mint("alice", Some("Alice"), &["moderator".into()], 60)
            .expect("mint");
        let user = auth.verify(&token).expect("verify");
        assert_eq!(&*user.id, "alice");
        assert_eq!(&*user.name, "Alice");
        assert!(user.roles.moderator && !user.roles.admin);
    }

    #[test]
    fn wrong_secret_and_garbage_are_rejected() {
        let a = Authenticator::hs256(&Secret::new("one"));
        let b = Authenticator::hs256(&Secret::new("two"));
        let token = a.mint("alice", None, &[], 60).expect("mint");
        assert!(b.verify(&token).is_err());
        assert!(a.verify("not.a.jwt").is_err());
        assert_eq!(
            &*a.verify(&token).expect("verify").name,
            "alice",
            "name defaults to the id"
        );
    }

    #[test]
    fn bad_subjects_are_refused() {
        let a = Authenticator::hs256(&Secret::new("one"));
        assert!(matches!(
            a.mint("a:b", None, &[], 60),
            Err(AuthError::BadSubject)
        ));
    }

    fn public_key_config(alg: JwtAlg, file: &str) -> Config {
        let dir = env!("CARGO_MANIFEST_DIR");
        Config {
            jwt_alg: alg,
            jwt_public_key_file: Some(format!("{dir}/tests/fixtures/{file}").into()),
            ..Config::default()
        }
    }

    fn sign_with(alg: Algorithm, key: EncodingKey, sub: &str, exp: u64) -> String {
        let claims = Claims {
            sub: sub.into(),
            name: Some("Pub".into()),
            exp,
            roles: vec!["admin".into()],
            member: false,
            created_at: None,
        };
        jsonwebtoken::encode(&Header::new(alg), &claims, &key).expect("sign")
    }

    #[test]
    fn verifies_eddsa_and_rs256_with_a_public_key() {
        let dir = env!("CARGO_MANIFEST_DIR");
        let read = |f: &str| std::fs::read(format!("{dir}/tests/fixtures/{f}")).expect("fixture");
        let cases = [
            (
                JwtAlg::EdDSA,
                Algorithm::EdDSA,
                "ed25519_public.pem",
                EncodingKey::from_ed_pem(&read("ed25519_private.pem")),
            ),
            (
                JwtAlg::RS256,
                Algorithm::RS256,
                "rsa_public.pem",
                EncodingKey::from_rsa_pem(&read("rsa_private.pem")),
            ),
        ];
        for (alg, algorithm, public, private) in cases {
            let auth =
                Authenticator::from_config(&public_key_config(alg, public)).expect("public key");
            let private = private.expect("private key");
            let user = auth
                .verify(&sign_with(
                    algorithm,
                    private.clone(),
                    "pk-user",
                    unix_now_secs() + 60,
                ))
                .expect("valid");
            assert_eq!((&*user.id, user.roles.admin), ("pk-user", true));
            assert!(
                auth.verify(&sign_with(
                    algorithm,
                    private,
                    "pk-user",
                    unix_now_secs() - 600
                ))
                .is_err(),
                "expired"
            );
            // An HS256 token, even one signed with the public key's bytes, is refused.
            let hs = Authenticator::hs256(&Secret::new("x"))
                .mint("pk-user", None, &[], 60)
                .expect("mint");
            assert!(auth.verify(&hs).is_err());
            assert!(matches!(
                auth.mint("a", None, &[], 60),
                Err(AuthError::CannotMint)
            ));
        }
    }

    #[test]
    fn generated_secret_is_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = load_or_create_secret(dir.path()).expect("create");
        let second = load_or_create_secret(dir.path()).expect("load");
        assert_eq!(first, second);
        assert_eq!(first.expose().len(), 64);
    }
}
