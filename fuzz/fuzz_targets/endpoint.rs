#![no_main]
//! `endpoint`: see `ecr_contract::fuzzing::endpoint`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| ecr_contract::fuzzing::endpoint(data));
