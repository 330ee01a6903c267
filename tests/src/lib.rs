//! End-to-end tests of portledger: real node processes driven by the real client (issue 6).
#![forbid(unsafe_code)]
