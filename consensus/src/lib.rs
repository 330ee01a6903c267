//! Round-robin BFT consensus (the Tendermint algorithm) as a pure state machine, with a seeded
//! simulation harness.
#![forbid(unsafe_code)]
