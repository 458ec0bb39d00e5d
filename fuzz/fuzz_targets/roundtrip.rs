#![no_main]
//! `roundtrip`: see `ecr_contract::fuzzing::roundtrip`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| ecr_contract::fuzzing::roundtrip(data));
