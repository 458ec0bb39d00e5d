#![no_main]
//! `differential`: see `ecr_contract::fuzzing::differential`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| ecr_contract::fuzzing::differential(data));
