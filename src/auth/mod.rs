//! API tokens: generated once, shown once, stored only as SHA-256 digests in a
//! tokens file that `mandate token` manages and `mandate serve` reads.

mod token;
mod tokens_file;

pub use token::{Principal, TokenTable, generate_token, token_digest};
pub use tokens_file::{TokenRecord, TokensFile, TokensFileError, default_tokens_path};
